"""`/docs`: the API's reference as one plain HTML page, built from its OpenAPI document (`/openapi.json`), with no
script and nothing loaded from elsewhere. FastAPI's own /docs page loads Swagger UI from a CDN (jsdelivr): an outbound
connection from every reader's browser, which an air-gapped site cannot make, and Swagger UI's files are not in the
installed packages to serve here instead."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

STYLE = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
         "code,pre{font:13px ui-monospace,monospace;background:#f4f4f4}pre{padding:.6rem;overflow:auto}"
         "h2{margin-top:2rem;border-top:1px solid #ddd;padding-top:1rem}.method{font-weight:bold;color:#1a5}")


@router.get("/docs", response_class=HTMLResponse)
def reference(request: Request) -> str:
    spec: dict[str, Any] = request.app.openapi()
    info = spec.get("info", {})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(info.get('title', ''))} API</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{escape(info.get('title', ''))} API {escape(info.get('version', ''))}</h1>",
             f"<p>{escape(info.get('description', ''))}</p>",
             "<p>The machine-readable description: <a href='/openapi.json'>/openapi.json</a> (OpenAPI "
             f"{escape(spec.get('openapi', ''))}), for any OpenAPI viewer or client generator.</p>"]
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            parts.append(_operation(method, path, operation))
    parts.append("</body></html>")
    return "".join(parts)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    html = [f"<h2><span class='method'>{escape(method.upper())}</span> <code>{escape(path)}</code></h2>",
            f"<p>{escape(operation.get('summary', ''))}</p>"]
    if operation.get("description"):
        html.append(f"<pre>{escape(operation['description'])}</pre>")
    if operation.get("security"):
        html.append("<p>Needs <code>Authorization: Bearer KEY</code>.</p>")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        html.append(f"<p>Request body: <code>{escape(_schema_name(body))}</code> (JSON)</p>")
    for status, response in operation.get("responses", {}).items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        named = f": <code>{escape(_schema_name(schema))}</code>" if schema else ""
        html.append(f"<p>{escape(status)} {escape(response.get('description', ''))}{named}</p>")
    return "".join(html)


def _schema_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", schema.get("type", "object"))).rsplit("/", 1)[-1]
