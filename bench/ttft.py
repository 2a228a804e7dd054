"""Print time to first answer text: the LLM server's own, and Enclave's for the same question and prompt.

    ENCLAVE_DATA_DIR=/tmp/enclave-answers-data ENCLAVE_LLM_BASE_URL=http://127.0.0.1:8088/v1 \\
        .venv/bin/python bench/ttft.py [--questions 6] [--runs 3] [--history-pieces 40]

(a) server: the exact messages Enclave sent (`AnswerStream.messages`), streamed with the openai client, timed from
    the request to the first content token.
(b) Enclave: `assistant.ask(question, user)` called → first text piece of the answer; this adds retrieval, the
    prompt's assembly and, for a follow-up (`ask(..., history=[(q, a)])`), the rewrite of the question into a
    standalone search query (one more LLM call).
Overhead is (b − a) / a. Before each timed request an unrelated one-token request replaces the server's cached prompt,
so neither side reuses the other's KV cache (llama.cpp and vLLM both keep the longest common prefix). Streams are
closed after the first text, which both servers treat as a cancel. One untimed question warms both paths first;
each question is then timed `--runs` times, alternating (b) and (a), and the fastest of each counts.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The repo root must come before bench/, whose ingest.py would otherwise shadow the ingest package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.offline import enforce_offline  # noqa: E402

enforce_offline()

import httpx  # noqa: E402
from openai import OpenAI  # noqa: E402

import assistant  # noqa: E402
import ingest  # noqa: E402
from assistant import User  # noqa: E402
from assistant.prompting.prompt import build_messages  # noqa: E402

DEFAULT_DATA_DIR = "/tmp/enclave-answers-data"
ADMIN = User(name="bench", groups=(), is_admin=True)
# (first question, follow-up that does not stand alone) over the shared documents.
CONVERSATIONS = [
    ("What activities are planned for the family day?", "Who sent it?"),
    ("Which clubs did Iwan Roberts play for before Norwich City?", "How many goals did he score there?"),
    ("How many laptops were delivered and on what date?", "And who signed the memo?"),
    ("What does Article 1 of the Universal Declaration of Human Rights say?", "And Article 2?"),
    ("What is dense passage retrieval?", "How does it compare with BM25?"),
    ("¿Qué derechos tiene el interesado sobre sus datos personales?", "¿Y cuándo se pueden limitar?"),
]


@dataclass(frozen=True)
class Timing:
    question: str
    server: float  # seconds to the first content token, the server alone
    enclave: float  # seconds from ask() to the first text piece

    @property
    def overhead(self) -> float:
        return (self.enclave - self.server) / self.server


class Bench:
    def __init__(self, enclave: assistant.Enclave, http: httpx.Client, history_pieces: int, runs: int) -> None:
        self.assistant = enclave.assistant
        self.llm = enclave.assistant.llm
        self.client = OpenAI(base_url=self.llm.base_url, api_key=self.assistant.settings.llm_api_key.get_secret_value(),
                             timeout=self.assistant.settings.llm_timeout, max_retries=0, http_client=http)
        self.history_pieces = history_pieces
        self.runs = runs
        self.flushes = 0
        self.has_history = "history" in inspect.signature(self.assistant.ask).parameters

    def flush(self) -> None:
        """Make the server forget the previous prompt: a one-token request sharing no prefix with ours."""
        self.flushes += 1
        self.client.chat.completions.create(
            model=self.llm.model, messages=[{"role": "user", "content": f"Count to {self.flushes}."}], max_tokens=1
        )

    def server_ttft(self, messages: list[dict]) -> float:
        s = self.assistant.settings
        effort = getattr(self.llm, "reasoning_effort", "")  # what Enclave's own client sends
        self.flush()
        started = time.monotonic()
        stream = self.client.chat.completions.create(
            model=self.llm.model, messages=messages, max_tokens=s.llm_max_tokens,  # type: ignore[arg-type]
            temperature=s.llm_temperature, stream=True, **({"reasoning_effort": effort} if effort else {}),
        )  # fmt: skip
        with stream:
            for event in stream:
                if event.choices and event.choices[0].delta.content:
                    return time.monotonic() - started
        raise SystemExit(f"the server streamed no answer text for {messages[-1]['content'][-200:]!r}")

    def enclave_ttft(
        self, question: str, history: list[tuple[str, str]]
    ) -> tuple[float, assistant.AnswerStream, Iterator[str]]:
        self.flush()
        started = time.monotonic()
        follow_up = {"history": history} if history else {}  # without it, the call any version of ask() takes
        stream = self.assistant.ask(question, ADMIN, **follow_up)
        pieces = iter(stream)
        next(pieces, None)  # the first text piece (a fixed reply such as "nothing found" counts too)
        return time.monotonic() - started, stream, pieces

    def measure(self, question: str, history: list[tuple[str, str]], runs: int = 0) -> tuple[Timing | None, str]:
        """Both timings for one question (the fastest of `runs`), and (a prefix of) Enclave's first answer to carry
        into a follow-up."""
        server: list[float] = []
        enclave: list[float] = []
        answer = ""
        for run in range(runs or self.runs):
            elapsed, stream, pieces = self.enclave_ttft(question, history)
            if run == 0:
                for n, _ in enumerate(pieces, start=2):  # a real answer for the follow-up's history, cut short
                    if n >= self.history_pieces:
                        break
            text = stream.stop().text if hasattr(stream, "stop") else "".join(getattr(stream, "_parts", []))
            answer = answer or text
            messages = self.messages_of(question, stream)
            if not messages:
                print(f"  skipped (no LLM call: {text[:60]!r}): {question}")
                return None, answer
            enclave.append(elapsed)
            server.append(self.server_ttft(messages))
        # The minimum: other work on the machine only ever adds time.
        return Timing(question, min(server), min(enclave)), answer

    def messages_of(self, question: str, stream: assistant.AnswerStream) -> list[dict]:
        if hasattr(stream, "messages"):
            return list(stream.messages)
        if not stream.passages:
            return []
        # An AnswerStream without `messages`: rebuild the prompt it sent.
        s = self.assistant.settings
        return build_messages(question, stream.passages, s.llm_context_window, s.llm_max_tokens)[0]


def print_timings(label: str, timings: list[Timing]) -> None:
    for t in timings:
        print(f"{label}: server {t.server:.3f} s  enclave {t.enclave:.3f} s  overhead {t.overhead:+.0%}  {t.question}")
    if timings:
        print(f"{label} median: server {statistics.median(t.server for t in timings):.3f} s, "
              f"enclave {statistics.median(t.enclave for t in timings):.3f} s, "
              f"overhead {statistics.median(t.overhead for t in timings):+.0%}, "
              f"difference {statistics.median(t.enclave - t.server for t in timings):+.2f} s "
              f"({len(timings)} questions)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=len(CONVERSATIONS), help="conversations to time")
    parser.add_argument("--runs", type=int, default=3, help="timings per question; the fastest counts")
    parser.add_argument("--history-pieces", type=int, default=40,
                        help="streamed pieces of the first answer kept as the follow-up's history")
    args = parser.parse_args()

    data_dir = Path(os.environ.get("ENCLAVE_DATA_DIR", DEFAULT_DATA_DIR))
    if not data_dir.is_dir():
        raise SystemExit(f"no data dir at {data_dir}: ingest the shared documents there or set ENCLAVE_DATA_DIR")
    enclave = assistant.open_enclave(ingest.load_settings(data_dir=data_dir), assistant.load_assistant_settings())
    http = httpx.Client(trust_env=False)  # a proxy from the environment must not see loopback traffic
    try:
        bench = Bench(enclave, http, args.history_pieces, args.runs)
        s = enclave.assistant.settings
        print(f"server {s.llm_base_url}  model {bench.llm.model}  data {data_dir}  "
              f"reasoning_effort {getattr(bench.llm, 'reasoning_effort', '') or '-'}  max_tokens {s.llm_max_tokens}")
        # The first prompt after a server start, and the first query embedding, are slow.
        bench.measure(CONVERSATIONS[0][0], [], runs=1)
        first: list[Timing] = []
        follow: list[Timing] = []
        for question, follow_up in CONVERSATIONS[: args.questions]:
            timing, answer = bench.measure(question, [])
            if timing is not None:
                first.append(timing)
            if bench.has_history:
                timing, _ = bench.measure(follow_up, [(question, answer)])
                if timing is not None:
                    follow.append(timing)
        print_timings("first turn", first)
        if bench.has_history:
            print_timings("follow-up", follow)
        else:
            print("follow-up: skipped (Assistant.ask takes no history yet)")
    finally:
        http.close()
        enclave.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (assistant.AssistantError, ingest.IngestError) as exc:
        sys.exit(f"error: {exc}")
