"""The REST API (`enclave api`): Enclave's assistant in OpenAI's Chat Completions shape, its search, and OpenAPI docs,
for the callers' API keys (assistant's accounts keep them). FastAPI on uvicorn, on one Enclave per process.

app           create_app: the FastAPI application on one Enclave, its routes and error handlers
server        run_api: open the Enclave, serve until stopped, close it; BackgroundApi: the same from a thread of the
              app's process, on the app's Enclave (`enclave up`); the run file written while it serves
local         /v1/local: the command line on this machine working through the API that holds the embedded store
chat          /v1/models and /v1/chat/completions (streamed as server-sent events, or not), citations included
search        /v1/search: retrieval only
documents     /v1/documents: list what the caller may see; upload and ingest, delete (admins)
conversation  a `messages` list as a question and its history
auth          the caller: the Bearer key checked at every call, then its rate limit; admins only
limits        the per-key rate limit (a token bucket in the process's memory), the request and upload sizes
schemas       the requests and responses, as pydantic models (and in /openapi.json)
docs          /docs: the reference as plain HTML, nothing loaded from a CDN
errors        every error as OpenAI's JSON error body with the status that fits
"""

from ui.api.app import create_app
from ui.api.server import BackgroundApi, listen, run_api

__all__ = ["BackgroundApi", "create_app", "listen", "run_api"]
