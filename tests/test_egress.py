"""No entry point attempts a connection off the machine: each runs under strace -f (infra/scripts/audit_egress.py),
which records every connect() and send*() that any thread of any process asks the kernel for, native libraries
included, whether or not it could have succeeded. A DNS query fails the test even on loopback.

Each test also checks that the entry point did its work, so an empty trace cannot pass for a clean one.

What is traced is every code path, not every file: `enclave ingest` reads one file of each format and parsing path
in the shared documents (TRACED_DOCUMENTS: OCR, LibreOffice, e-mail attachments, several languages), on a new
machine's empty cache, so the embedding model's first-run export is traced too. A format added to the shared
documents later fails test_every_format_in_the_shared_documents_is_traced until a file of it joins the set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from browsers import CHROMIUM_FLAGS, chromium, shown, sign_in
from shared_data import DOCS, SCIFACT
from streamlit_apps import PASSWORD, data_dir_accounts

from assistant.llm import find_free_port, packaged_test_model
from infra.scripts.audit_egress import Report, Traced
from ui.commands.launcher import llm_answers, wait_for_app

ENCLAVE = str(Path(sys.executable).with_name("enclave"))
QUESTION = "How many bottles of water were delivered?"
TIMEOUT = 900  # a bound, not a budget: the model export, OCR and LibreOffice under strace, on 2 busy cores


def run_traced(log: Path, args: list[str], env: dict[str, str], timeout: float = TIMEOUT, stacks: bool = False
               ) -> tuple[subprocess.CompletedProcess, Report]:
    with Traced([ENCLAVE, *args], log, env=env, stacks=stacks, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True) as traced:
        out, err = traced.process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(args, traced.process.returncode, out, err), traced.report()


def assert_nothing_outbound(report: Report, again: Callable[[], Report] | None = None) -> None:
    """No attempt. On failure, `again` runs the command once more with native call stacks (slow: only then), so the
    message names the library that made each attempt, not only the process and the address or host name."""
    if report.outbound and again is not None:
        with_stacks = again()
        report = with_stacks if with_stacks.outbound else report
    assert not report.outbound, report.summary()


def audited(log: Path, args: list[str], env: dict[str, str], fresh: Callable[[], dict[str, str]] | None = None,
            timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run `enclave ARGS` under the trace and assert that it attempted nothing outbound; `fresh` gives the
    environment for the run with stacks (a new data folder, where the command changes its own)."""
    completed, report = run_traced(log, args, env, timeout)
    assert_nothing_outbound(report, lambda: run_traced(log.with_suffix(".stacks.log"), args, (fresh or (lambda: env))(),
                                                       timeout * 4, stacks=True)[1])
    return completed


def legacy_copy(source: Path, extension: str, folder: Path) -> Path:
    """A real .doc / .ppt made from a shared modern file by LibreOffice (outside the trace: test set-up)."""
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{folder}/profile", "--convert-to",
                    extension, "--outdir", str(folder), str(source)], check=True, capture_output=True, timeout=180)
    shutil.rmtree(folder / "profile", ignore_errors=True)
    return folder / f"{source.stem}.{extension}"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """A data folder of its own, and an empty cache: the first command exports the embedding model, as on a new
    machine (OpenVINO and NNCF have telemetry of their own), under the trace."""
    folder = tmp_path_factory.mktemp("egress")
    return dict(os.environ, ENCLAVE_DATA_DIR=str(folder / "data"), XDG_CACHE_HOME=str(folder / "cache"),
                ENCLAVE_LLM_MAX_TOKENS="48")


# One shared file for each format and parsing path: the trace shows what code runs, and more files of a format run
# the same code (the whole library, 2,500 chunks, took 5 minutes or more under strace; these 20 files make about 100).
# Small files where a format has a choice; why each one is here:
TRACED_DOCUMENTS = {
    "memo-supply-delivery.pdf": "a PDF's text layer (and what the search test must find)",
    "scanned-loremipsum-image-only.pdf": "a PDF without a text layer: rewritten by pikepdf, then read by Tesseract",
    "udhr-english-spanish.docx": "Word",
    "sample-presentation.pptx": "PowerPoint, and the source of the legacy .ppt",
    "stanley-cups.xlsx": "Excel",
    "simple-with-table.odt": "OpenDocument, with a table",
    "udhr-english-spanish.epub": "EPUB",
    "udhr-english-spanish.rtf": "RTF",
    "udhr-english-spanish.html": "HTML, English and Spanish",
    "usa-patriot-act-public-law-107-56.htm": "HTML named .htm",
    "bdsg-2018-bundesdatenschutzgesetz-de.md": "Markdown, in German (German stems)",
    "rgpd-reglamento-ue-2016-679-es.md": "Markdown, in Spanish (Spanish stems)",
    "udhr-article1-all-languages.txt": "plain text in many languages and scripts",
    "semicolon-delimited.csv": "CSV",
    "MANIFEST.tsv": "TSV",
    "email-with-attachment.eml": "an e-mail with a text attachment, parsed as a file of its own",
    "email-with-image.eml": "an e-mail with a PNG attachment: the image path, read by Tesseract",
    "outlook-with-attachment.msg": "an Outlook message with an attachment",
}
# Long text files are cut at a line boundary to about this many bytes: the same path through the code, fewer chunks to
# embed (on a busy 2-core machine embedding ran at 4 chunks a second). The UDHR keeps eight scripts, CJK to Syriac.
SHORTENED = {"usa-patriot-act-public-law-107-56.htm": 4_000, "bdsg-2018-bundesdatenschutzgesetz-de.md": 4_000,
             "rgpd-reglamento-ue-2016-679-es.md": 4_000, "MANIFEST.tsv": 4_000,
             "udhr-article1-all-languages.txt": 8_000}
# The LibreOffice path: made from shared files by legacy_copy.
LEGACY = {"moby-dick-opening.docx": "doc", "sample-presentation.pptx": "ppt"}


def extensions(names: Iterable[str]) -> set[str]:
    return {Path(name).suffix.lower() for name in names}


def test_every_format_in_the_shared_documents_is_traced():
    """The set is chosen by hand: a format added to the shared documents later must not go untraced in silence."""
    missing = extensions(p.name for p in DOCS.iterdir()) - extensions(TRACED_DOCUMENTS)
    assert not missing, f"add a file of each of these formats to TRACED_DOCUMENTS: {sorted(missing)}"


def cut_at_a_line(data: bytes, size: int) -> bytes:
    return data[:data.rindex(b"\n", 0, size) + 1]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """TRACED_DOCUMENTS (see SHORTENED), and a legacy Word and PowerPoint file for the LibreOffice path."""
    folder = tmp_path_factory.mktemp("library")
    docs = folder / "docs"
    docs.mkdir()
    for name in TRACED_DOCUMENTS:
        data = (DOCS / name).read_bytes()
        (docs / name).write_bytes(cut_at_a_line(data, SHORTENED[name]) if name in SHORTENED else data)
    legacy = folder / "legacy"
    legacy.mkdir()
    for source, extension in LEGACY.items():
        legacy_copy(DOCS / source, extension, legacy)
    return folder


@pytest.fixture(scope="module")
def ingested(library, env, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Report]:
    logs = tmp_path_factory.mktemp("logs")
    return run_traced(logs / "ingest.log", ["ingest", str(library), "--json"], env)


def test_ingesting_a_file_of_every_format_attempts_nothing_outbound(ingested, library, env, tmp_path):
    completed, report = ingested

    fresh = dict(env, ENCLAVE_DATA_DIR=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    assert_nothing_outbound(report, lambda: run_traced(tmp_path / "ingest.stacks.log", ["ingest", str(library)],
                                                       fresh, TIMEOUT * 4, stacks=True)[1])
    results = {Path(r["path"]).name: r for r in json.loads(completed.stdout)}  # stdout is JSON, export or not
    assert completed.returncode == 0, [r for r in results.values() if r["status"] == "failed"]
    assert set(results) == set(TRACED_DOCUMENTS) | {f"{Path(s).stem}.{e}" for s, e in LEGACY.items()}
    assert {r["status"] for r in results.values()} == {"added"}
    assert [r for r in results.values() if r["reason"]] == []  # no attachment left out: each one was parsed
    ran = " ".join(report.processes)
    assert "tesseract" in ran and "soffice" in ran  # OCR and LibreOffice ran, under the trace
    assert results["email-with-attachment.eml"]["chunks"] > 0
    assert "exporting the embedding model" in completed.stderr  # the first run's export was traced too


def test_reindexing_attempts_nothing_outbound(ingested, env, tmp_path):
    completed = audited(tmp_path / "reindex.log", [
        "reindex", "scanned-loremipsum-image-only.pdf", "moby-dick-opening.doc", "outlook-with-attachment.msg",
        "--json"], env)

    assert completed.returncode == 0, completed.stderr
    assert [r["status"] for r in json.loads(completed.stdout)] == ["updated"] * 3


def test_searching_attempts_nothing_outbound(ingested, env, tmp_path):
    completed = audited(tmp_path / "search.log", ["search", "bottles of water", "-k", "3", "--json"], env)

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)[0]["document"] == "memo-supply-delivery.pdf"


def wait_for_llm(base_url: str, traced: Traced, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not llm_answers(base_url):
        assert traced.process.poll() is None, "enclave llm serve exited during start-up"
        if time.monotonic() > deadline:
            pytest.fail(f"enclave llm serve did not answer at {base_url} within {seconds:.0f} s")
        time.sleep(0.5)


def test_serving_the_llm_and_asking_attempt_nothing_outbound(ingested, env, tmp_path):
    port = find_free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    # One thread: llama.cpp's threads wait on each other at every step, and on a busy 2-core machine a second one
    # made an answer 5 to 10 times slower. The code path traced is the same.
    serve_env = dict(env, ENCLAVE_LLM_MODEL_PATH=str(packaged_test_model()), ENCLAVE_LLM_PORT=str(port),
                     ENCLAVE_LLM_THREADS="1")
    with Traced([ENCLAVE, "llm", "serve"], tmp_path / "serve.log", env=serve_env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL) as server:
        wait_for_llm(base_url, server)
        ask_env = dict(env, ENCLAVE_LLM_BASE_URL=base_url)
        completed, ask_report = run_traced(tmp_path / "ask.log", ["ask", QUESTION, "--json"], ask_env)
        assert_nothing_outbound(ask_report, lambda: run_traced(tmp_path / "ask.stacks.log", ["ask", QUESTION],
                                                               ask_env, TIMEOUT, stacks=True)[1])
    serve_report = server.report()

    assert_nothing_outbound(serve_report)  # a server: its report names the process, the host and any Python caller
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["citations"], completed.stdout
    assert any(a.port == port for a in ask_report.loopback)  # the question went to the traced server
    assert any("llama_cpp.server" in p for p in serve_report.processes)


@pytest.fixture
def small_beir(tmp_path) -> Path:
    """The first 10 judged SciFact test queries and the documents they judge, plus 40 others."""
    folder = tmp_path / "scifact-small"
    (folder / "qrels").mkdir(parents=True)
    judged: dict[str, list[str]] = {}
    for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query, doc, _ = line.split("\t")
        if query in judged or len(judged) < 10:
            judged.setdefault(query, []).append(doc)
    wanted = {doc for docs in judged.values() for doc in docs}
    with (SCIFACT / "corpus.jsonl").open() as corpus, (folder / "corpus.jsonl").open("w") as out:
        others = 0
        for line in corpus:
            doc = json.loads(line)["_id"]
            if doc in wanted or others < 40:
                others += doc not in wanted
                out.write(line)
    queries = [line for line in (SCIFACT / "queries.jsonl").read_text().splitlines()
               if json.loads(line)["_id"] in judged]
    (folder / "queries.jsonl").write_text("\n".join(queries) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, docs in judged.items() for d in docs))
    return folder


def test_evaluating_on_a_beir_folder_attempts_nothing_outbound(small_beir, env, tmp_path):
    completed = audited(tmp_path / "eval.log", ["eval", "beir", str(small_beir), "--json"],
                        dict(env, ENCLAVE_DATA_DIR=str(tmp_path / "data")),
                        fresh=lambda: dict(env, ENCLAVE_DATA_DIR=str(tmp_path / "data-again")))

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["ndcg@10"] > 0.3


# The browser is the test's client, not Enclave, and runs outside the trace (quietly: tests/browsers.py). What the app's
# pages make it fetch is Enclave's doing, though: every request the page makes is recorded, and must go to the app.


def test_the_app_from_start_up_through_sign_in_an_upload_and_a_question_attempts_nothing_outbound(
        ingested_data_dir, llm_server, tmp_path):
    from playwright.sync_api import sync_playwright

    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    with data_dir_accounts(data) as accounts:
        accounts.create_first_admin("root", PASSWORD)
    port = find_free_port()
    app_env = dict(os.environ, ENCLAVE_DATA_DIR=str(data), ENCLAVE_APP_PORT=str(port),
                   ENCLAVE_LLM_BASE_URL=llm_server.base_url, ENCLAVE_LLM_MAX_TOKENS="48")
    url = f"http://127.0.0.1:{port}"
    with Traced([ENCLAVE, "app"], tmp_path / "app.log", env=app_env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL) as app, sync_playwright() as playwright:
        wait_for_app(url, app.process, timeout=180)
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page()
        requested: list[str] = []  # what the app's pages make the browser fetch: an icon from a CDN leaks too
        page.on("request", lambda request: requested.append(request.url))
        sign_in(page, url, "root", PASSWORD)  # the first load opens the store and loads the model

        page.get_by_role("link", name="Documents").click()
        page.locator("input[type=file]").set_input_files(str(DOCS / "stanley-cups.xlsx"))
        shown(page.get_by_test_id("stFileChip"))  # the browser has sent the file: only now may the form go
        page.get_by_role("button", name="Add to the library").click()
        shown(page.get_by_text("In the library (5)"))
        shown(page.get_by_test_id("stText").filter(has_text="stanley-cups.xlsx"))  # its row in the library

        page.get_by_role("link", name="Ask").click()
        page.get_by_placeholder("Ask a question about your documents").fill(QUESTION)
        page.keyboard.press("Enter")
        shown(page.get_by_text("memo-supply-delivery.pdf").first)  # a source under the answer
        browser.close()
    report = app.report()

    assert_nothing_outbound(report)
    assert [u for u in requested if urlsplit(u).hostname not in ("127.0.0.1", "localhost")] == []
    assert any(a.port == int(llm_server.base_url.rsplit(":", 1)[1].split("/")[0]) for a in report.loopback)
    assert any("streamlit" in p for p in report.processes)



# The REST API's client is the test, outside the trace: the official `openai` package, as an integrator would use it.


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for_api(base_url: str, key: str, traced: Traced, tries: int = 360) -> None:
    """Until GET /models answers 200 on the key (a bounded number of tries, half a second apart)."""
    for _ in range(tries):
        assert traced.process.poll() is None, "enclave api exited during start-up"
        try:
            if httpx.get(f"{base_url}/models", headers=bearer(key), timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"enclave api did not answer at {base_url} after {tries} tries")


def test_the_api_through_an_upload_a_streamed_answer_and_a_search_attempts_nothing_outbound(ingested_data_dir,
                                                                                            llm_server, tmp_path):
    """The keys made by `enclave keys create` (traced too), then the server from start-up to SIGTERM: an admin's
    upload (parsed, embedded and stored by the API process), a member's streamed answer and search."""
    from openai import OpenAI

    data = tmp_path / "data"
    shutil.copytree(ingested_data_dir, data)
    with data_dir_accounts(data) as accounts:
        accounts.add_user("alice", "member", by="test")
        accounts.add_user("root", "admin", by="test")
    port = find_free_port()
    api_env = dict(os.environ, ENCLAVE_DATA_DIR=str(data), ENCLAVE_LLM_BASE_URL=llm_server.base_url,
                   ENCLAVE_LLM_MAX_TOKENS="48")
    key = audited(tmp_path / "keys.log", ["keys", "create", "alice"], api_env).stdout.strip().splitlines()[-1]
    admin_key = audited(tmp_path / "admin-keys.log", ["keys", "create", "root"],
                        api_env).stdout.strip().splitlines()[-1]
    policy = tmp_path / "leave-policy.md"
    policy.write_text("# Leave policy\n\nEmployees may carry over five days of leave into the next year.\n")
    base_url = f"http://127.0.0.1:{port}/v1"
    with Traced([ENCLAVE, "api", "--port", str(port)], tmp_path / "api.log", env=api_env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL) as api:
        wait_for_api(base_url, key, api)
        with policy.open("rb") as file:
            uploaded = httpx.post(f"{base_url}/documents", files=[("files", (policy.name, file, "text/markdown"))],
                                  headers=bearer(admin_key), timeout=600)
        with OpenAI(api_key=key, base_url=base_url) as alice:
            models = [model.id for model in alice.models.list()]
            *_, last = alice.chat.completions.create(
                model="enclave", messages=[{"role": "user", "content": QUESTION}], stream=True)
        found = httpx.post(f"{base_url}/search", json={"query": "bottles of water", "k": 3},
                           headers=bearer(key), timeout=120)
        exit_code = api.stop()  # SIGTERM, as a service manager stops it
    report = api.report()

    assert_nothing_outbound(report)  # a server: its report names the process, the host and any Python caller
    assert exit_code == 0  # stopped cleanly, so the trace is complete
    assert models == ["enclave"]
    assert uploaded.status_code == 200, uploaded.text
    assert [r["status"] for r in uploaded.json()["data"]] == ["added"], uploaded.text
    assert last.choices[0].delta.model_extra["citations"][0]["document"] == "memo-supply-delivery.pdf"
    assert found.status_code == 200, found.text
    assert found.json()["data"][0]["document"] == "memo-supply-delivery.pdf"
    assert any(a.port == int(llm_server.base_url.rsplit(":", 1)[1].split("/")[0]) for a in report.loopback)
    assert any("enclave api" in p for p in report.processes)
