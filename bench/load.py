"""Print how the REST API holds under load: N clients, each with its own API key and group, ask questions at once.

    .venv/bin/python bench/load.py [--clients 20] [--questions 200] [--max-tokens 48] [--timeout 2700]

Set-up, all on loopback in a temporary data folder: llama.cpp serving the small chat model (SmolLM2-135M, or
--model), four groups with two shared documents each (`enclave ingest --group G`), an admin and one member per client
(`enclave users add`), a key each (`enclave keys create`), then `enclave api` as a subprocess. Each client asks the
questions of its own group's documents through the official `openai` package, every other one streamed.

Two phases of `--questions` each: the questions alone, then the same questions while an admin uploads documents
through POST /v1/documents (and deletes them, to upload them again) until the questions end. For each: throughput,
p50/p95 latency, time to first token of the streamed calls, errors by kind, and the passages cited from a document
outside the caller's groups (found from the admin's GET /v1/documents: it must be 0). Exit 1 on any error or such
passage, 2 when the set-up fails.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

# The repo root must come before bench/, whose ingest.py would otherwise shadow the ingest package.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import openai  # noqa: E402
from openai import OpenAI  # noqa: E402

SHARED = ROOT.parent / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
DOCS = SHARED / "data" / "docs"

# Each group's documents, and questions they answer: a client asks only of its own group's.
GROUPS: dict[str, dict[str, list[str]]] = {
    "operations": {
        "memo-supply-delivery.pdf": ["How many bottles of water were delivered?",
                                     "How many laptops were delivered and on what date?",
                                     "Who signed the supply delivery memo?"],
        "family-day.eml": ["What activities are planned for the family day?",
                           "Who sent the family day announcement?"],
    },
    "rights": {
        "udhr-english-spanish.html": ["What does Article 1 of the Universal Declaration of Human Rights say?",
                                      "Are all human beings born free and equal in dignity and rights?",
                                      "¿Qué dice el artículo 1 de la Declaración Universal de Derechos Humanos?"],
        "training-module-product-quality.pdf": ["What topics does the product quality training module cover?"],
    },
    "sport": {
        "norwich-city-iwan-roberts.txt": ["Which clubs did Iwan Roberts play for before Norwich City?",
                                          "How many goals did Iwan Roberts score for Norwich City?",
                                          "Where was Iwan Roberts born?"],
        "stanley-cups.xlsx": ["Which teams won the Stanley Cup?"],
    },
    "books": {
        "moby-dick-opening.docx": ["Why does Ishmael go to sea?",
                                   "What does the narrator of Moby-Dick say about the sea?"],
        "sample-presentation.pptx": ["What is the sample presentation about?",
                                     "What do the bullet points of the sample presentation say?"],
    },
}
# Uploaded by the admin in the second phase, to a group no client is in: any passage of them in an answer is foreign.
UPLOAD_GROUP = "uploads"
UPLOADS = ["dense-passage-retrieval-paper.pdf", "simple-with-table.odt", "email-english-spanish.eml",
           "headers-footers.docx", "rgpd-capitulos-1-3-es.pdf", "tables-merged-and-nested.docx",
           "unstructured-readme.md", "sec-10k-galaxy-gaming-excerpt.html", "slide-with-table.pptx",
           "xlsx-subtables.xlsx"]
ADMIN = "bench-admin"


@dataclass(frozen=True)
class Outcome:
    """One question asked: how long it took, and what went wrong or which documents it cited."""

    client: int
    streamed: bool
    seconds: float
    first_token: float | None = None  # streamed calls: seconds to the first answer text
    error: str = ""  # the kind of failure, empty when answered
    cited: tuple[str, ...] = ()  # the cited passages' documents
    foreign: tuple[str, ...] = ()  # of those, the ones outside the caller's groups


@dataclass
class Uploads:
    """What the admin's uploads did during a phase."""

    files: int = 0
    chunks: int = 0
    deleted: int = 0
    seconds: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile by nearest rank (a value that occurred); nan for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def foreign_documents(cited: Iterable[str], caller_groups: Iterable[str],
                      document_groups: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The cited documents the caller may not see: shared with none of its groups, or unknown to the store's list."""
    mine = set(caller_groups)
    return tuple(name for name in cited if not mine & set(document_groups.get(name, ())))


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` questions over `parts` clients, the first ones taking one more when it does not divide."""
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def error_kind(exc: Exception) -> str:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        return f"{exc.status_code} {exc.code or body.get('code') or type(exc).__name__}"
    if isinstance(exc, openai.APIError):  # a timeout, a broken connection, an error event in a stream
        return type(exc).__name__ + (f" {exc.code}" if getattr(exc, "code", None) else "")
    return type(exc).__name__


class Stack:
    """The LLM server, the data folder with its documents and accounts, and `enclave api`, until closed."""

    def __init__(self, args: argparse.Namespace, workdir: Path, stack: ExitStack) -> None:
        from assistant import LlamaCppServer, find_free_port, packaged_test_model
        from assistant.llm import load_llm_server_settings

        model = Path(args.model) if args.model else packaged_test_model()
        llm = load_llm_server_settings(llm_model_path=model, llm_port=find_free_port(), llm_threads=args.llm_threads,
                                       _env_file=None)
        print(f"LLM: {model.name} on {args.llm_threads} thread(s); data {workdir / 'data'}", flush=True)
        server = stack.enter_context(LlamaCppServer(llm, log_dir=workdir, progress=None))
        self.env = dict(os.environ, ENCLAVE_DATA_DIR=str(workdir / "data"), ENCLAVE_LLM_BASE_URL=server.base_url,
                        ENCLAVE_LLM_MAX_TOKENS=str(args.max_tokens), ENCLAVE_API_REQUESTS_PER_MINUTE="1000000",
                        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.workdir = workdir
        self.stack = stack
        self.base_url = ""

    def enclave(self, *args: str, timeout: float = 600) -> str:
        """Run this tree's `enclave ARGS`; its standard output (the set-up stops on a failure)."""
        done = subprocess.run([sys.executable, "-m", "ui.commands.cli", *args], check=False, env=self.env,
                              cwd=self.workdir, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise SystemExit(f"`enclave {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout

    def populate(self, clients: int) -> tuple[str, list[tuple[str, str]]]:
        """Ingest each group's documents, add the admin and one member per client; the admin's key and each client's
        (key, group)."""
        for group, documents in GROUPS.items():
            self.enclave("ingest", "--group", group, *(str(DOCS / name) for name in documents))
        self.enclave("users", "add", ADMIN, "--role", "admin")
        admin_key = self.enclave("keys", "create", ADMIN).strip().splitlines()[-1]
        members = []
        for n, group in zip(range(clients), itertools.cycle(GROUPS)):
            self.enclave("users", "add", f"client{n}", "--group", group)
            members.append((self.enclave("keys", "create", f"client{n}").strip().splitlines()[-1], group))
        return admin_key, members

    def serve(self, admin_key: str, timeout: float = 300) -> str:
        """Start `enclave api` on a free loopback port; its base URL once /v1/models answers."""
        from assistant import find_free_port

        port = find_free_port()
        log = (self.workdir / "api.log").open("w")
        self.stack.callback(log.close)
        process = subprocess.Popen([sys.executable, "-m", "ui.commands.cli", "api", "--port", str(port)],
                                   env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        self.stack.callback(stop, process)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"`enclave api` exited ({process.returncode}): see {self.workdir / 'api.log'}")
            try:
                if httpx.get(f"{self.base_url}/models", headers={"Authorization": f"Bearer {admin_key}"},
                             timeout=5, trust_env=False).status_code == 200:
                    return self.base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"`enclave api` did not answer within {timeout:.0f} s: see {self.workdir / 'api.log'}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ask(client: OpenAI, number: int, group: str, question: str, streamed: bool,
        document_groups: Mapping[str, list[str]]) -> Outcome:
    """Ask one question as this client; the outcome, a failure included."""
    messages = [{"role": "user", "content": question}]
    started = time.monotonic()
    first: float | None = None
    citations: list[dict] = []
    try:
        if streamed:
            stream = client.chat.completions.create(model="enclave", messages=messages, stream=True)
            with stream:
                for chunk in stream:
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if first is None and delta.content:
                        first = time.monotonic() - started
                    citations = (delta.model_extra or {}).get("citations") or citations
        else:
            completion = client.chat.completions.create(model="enclave", messages=messages)
            citations = (completion.choices[0].message.model_extra or {}).get("citations") or []
    except Exception as exc:  # every failure is a figure of the bench, counted by kind
        return Outcome(number, streamed, time.monotonic() - started, first, error=error_kind(exc))
    cited = tuple(c["document"] for c in citations)
    return Outcome(number, streamed, time.monotonic() - started, first, cited=cited,
                   foreign=foreign_documents(cited, ("everyone", group), document_groups))


def run_client(base_url: str, key: str, number: int, group: str, count: int, deadline: float,
               request_timeout: float, document_groups: Mapping[str, list[str]]) -> list[Outcome]:
    """One client's questions, one after another, cycling through its group's; every other one streamed. Questions
    left when the deadline passes are counted as not asked."""
    questions = itertools.cycle(q for qs in GROUPS[group].values() for q in qs)
    for _ in range(number // len(GROUPS)):  # clients of the same group start at different questions
        next(questions)
    outcomes = []
    http = httpx.Client(trust_env=False)  # a proxy from the environment must not see loopback traffic
    with OpenAI(api_key=key, base_url=base_url, timeout=request_timeout, max_retries=0, http_client=http) as client:
        for n in range(count):
            if time.monotonic() > deadline:
                outcomes.append(Outcome(number, False, 0.0, error="not asked (--timeout)"))
                continue
            outcomes.append(ask(client, number, group, next(questions), (number + n) % 2 == 0, document_groups))
    return outcomes


def upload_until(stop_event: threading.Event, base_url: str, admin_key: str, deadline: float,
                 request_timeout: float) -> Uploads:
    """Upload UPLOADS one file a request to UPLOAD_GROUP, deleting each after it, until told to stop."""
    done = Uploads()
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base_url.removesuffix("/v1"), headers=headers, timeout=request_timeout,
                      trust_env=False) as http:
        for name in itertools.cycle(UPLOADS):
            if stop_event.is_set() or time.monotonic() > deadline:
                break
            started = time.monotonic()
            try:
                with (DOCS / name).open("rb") as file:
                    response = http.post("/v1/documents", files=[("files", (name, file))],
                                         data={"groups": [UPLOAD_GROUP]})
                response.raise_for_status()
                [result] = response.json()["data"]
                done.seconds.append(time.monotonic() - started)
                if result["status"] == "failed":
                    done.errors[f"failed: {result['reason'][:60]}"] += 1
                    continue
                done.files += 1
                done.chunks += result["chunks"]
                http.delete(f"/v1/documents/{result['document_id']}").raise_for_status()
                done.deleted += 1
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                kind = f"{exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError) else type(exc).__name__
                done.errors[kind] += 1
    return done


def run_phase(base_url: str, members: list[tuple[str, str]], questions: int, deadline: float, request_timeout: float,
              document_groups: Mapping[str, list[str]]) -> tuple[list[Outcome], float]:
    """Every client at once; their outcomes and the phase's wall time."""
    counts = split_evenly(questions, len(members))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        futures = [pool.submit(run_client, base_url, key, n, group, counts[n], deadline, request_timeout,
                               document_groups)
                   for n, (key, group) in enumerate(members)]
        outcomes = [outcome for future in futures for outcome in future.result()]
    return outcomes, time.monotonic() - started


def report(label: str, outcomes: list[Outcome], wall: float) -> None:
    answered = [o for o in outcomes if not o.error]
    latencies = [o.seconds for o in answered]
    first_tokens = [o.first_token for o in answered if o.streamed and o.first_token is not None]
    streamed = sum(o.streamed for o in answered)
    errors = Counter(o.error for o in outcomes if o.error)
    foreign = [(o.client, name) for o in outcomes for name in o.foreign]
    print(f"\n{label}: {len(answered)}/{len(outcomes)} answered in {wall:.1f} s → "
          f"{len(answered) / wall:.3f} questions/s ({streamed} streamed)")
    print(f"  latency p50 {percentile(latencies, 50):.1f} s  p95 {percentile(latencies, 95):.1f} s  "
          f"max {max(latencies, default=math.nan):.1f} s")
    print(f"  time to first token (streamed) p50 {percentile(first_tokens, 50):.1f} s  "
          f"p95 {percentile(first_tokens, 95):.1f} s")
    citing = [o for o in answered if o.cited]
    print(f"  answers citing passages {len(citing)} ({sum(o.streamed for o in citing)} streamed), passages cited "
          f"{sum(len(o.cited) for o in citing)}")
    print(f"  errors {sum(errors.values())}" + "".join(f"\n    {n} × {kind}" for kind, n in errors.most_common()))
    print(f"  cross-user passages {len(foreign)}"
          + "".join(f"\n    client{c} cited {name}" for c, name in foreign[:10]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients, each with its own key")
    parser.add_argument("--questions", type=int, default=200, help="questions in all, in each phase")
    parser.add_argument("--max-tokens", type=int, default=48, help="longest answer (ENCLAVE_LLM_MAX_TOKENS, ≥ 16)")
    parser.add_argument("--timeout", type=float, default=2700, help="seconds for the whole run, set-up included")
    parser.add_argument("--request-timeout", type=float, default=900, help="seconds for one request")
    parser.add_argument("--model", default="", help="GGUF the LLM server loads (default: SmolLM2-135M, the tests')")
    parser.add_argument("--llm-threads", type=int, default=1,
                        help="llama.cpp threads: 1 holds up best on a busy machine (see tests/conftest.py)")
    parser.add_argument("--no-upload-phase", action="store_true", help="only the questions, without the uploads")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder and logs")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout

    workdir = Path(tempfile.mkdtemp(prefix="enclave-bench-load-"))
    failed = False
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, workdir, True)
        started = time.monotonic()
        bench = Stack(args, workdir, stack)
        admin_key, members = bench.populate(args.clients)
        base_url = bench.serve(admin_key)
        listed = httpx.get(f"{base_url}/documents", headers={"Authorization": f"Bearer {admin_key}"}, timeout=60,
                           trust_env=False).json()["data"]
        document_groups = {d["name"]: d["groups"] for d in listed}
        document_groups.update({name: [UPLOAD_GROUP] for name in UPLOADS})
        print(f"set-up {time.monotonic() - started:.0f} s: {len(listed)} documents "
              f"({sum(d['chunks'] for d in listed)} chunks) in {len(GROUPS)} groups, {args.clients} clients, "
              f"max_tokens {args.max_tokens}, API {base_url}", flush=True)

        outcomes, wall = run_phase(base_url, members, args.questions, deadline, args.request_timeout, document_groups)
        report("questions alone", outcomes, wall)
        phases = [outcomes]
        if not args.no_upload_phase:
            stop_event = threading.Event()
            with ThreadPoolExecutor(max_workers=1) as uploader:
                uploading = uploader.submit(upload_until, stop_event, base_url, admin_key, deadline,
                                            args.request_timeout)
                try:
                    outcomes, wall = run_phase(base_url, members, args.questions, deadline, args.request_timeout,
                                               document_groups)
                finally:
                    stop_event.set()
                uploads = uploading.result()
            report("questions while an admin uploads", outcomes, wall)
            phases.append(outcomes)
            print(f"  uploads: {uploads.files} files ingested ({uploads.chunks} chunks) and {uploads.deleted} deleted; "
                  f"upload p50 {percentile(uploads.seconds, 50):.1f} s; errors {sum(uploads.errors.values())}"
                  + "".join(f"\n    {n} × {kind}" for kind, n in uploads.errors.items()))
            failed = bool(uploads.errors)
            p95 = [percentile((o.seconds for o in phase if not o.error), 95) for phase in phases]
            print(f"\np95 latency: {p95[0]:.1f} s without ingestion, {p95[1]:.1f} s with it")
        failed = failed or any(o.error or o.foreign for phase in phases for o in phase)
        if args.keep:
            print(f"kept {workdir} (api.log, the LLM server's log, the data folder)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
