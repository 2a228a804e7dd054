"""Print the embedded LLM server's figures on this machine: start-up time, prompt and generation speed.

    .venv/bin/python bench/llm.py                  # packaged Qwen 1.5B + SmolLM2 start-up, Qwen speed, 2 threads
    .venv/bin/python bench/llm.py --runs 3 --prompt-tokens 1500

Start-up is process start → GET /v1/models answers 200. Speed is timed through the streaming API as a client
sees it: time to first token (≈ prompt processing) and the decode rate after it. Each run changes the first
words of the prompt so llama.cpp cannot reuse the previous run's KV cache.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# The repo root must come before bench/, whose ingest.py would otherwise shadow the ingest package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from openai import OpenAI  # noqa: E402

from assistant import LlamaCppServer, LLMServerError, find_free_port, packaged_test_model  # noqa: E402
from assistant.llm import LLMServerSettings, load_llm_server_settings  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
SOURCE_TEXT = SHARED / "data" / "docs" / "norwich-city-iwan-roberts.txt"
QUESTION = "Write a detailed, multi-paragraph summary of the passage above. Use at least 300 words."


@dataclass(frozen=True)
class GenerationRun:
    prompt_tokens: int
    generated_tokens: int
    time_to_first_token: float
    decode_seconds: float

    @property
    def prompt_rate(self) -> float:
        return self.prompt_tokens / self.time_to_first_token

    @property
    def decode_rate(self) -> float:
        # The first token's time is in time_to_first_token; the rest arrive during decode_seconds.
        return (self.generated_tokens - 1) / self.decode_seconds if self.decode_seconds > 0 else float("nan")


def measure_start(settings: LLMServerSettings, log_dir: Path) -> float:
    server = LlamaCppServer(settings, port=find_free_port(), log_dir=log_dir, progress=None)
    started = time.monotonic()
    server.start()
    elapsed = time.monotonic() - started
    server.stop()
    return elapsed


def count_tokens_on_server(base_url: str, text: str) -> int:
    root = base_url.removesuffix("/v1")
    response = httpx.post(f"{root}/extras/tokenize/count", json={"input": text}, timeout=60, trust_env=False)
    response.raise_for_status()
    return int(response.json()["count"])


def build_passage(base_url: str, target_tokens: int) -> str:
    """About `target_tokens` of real prose (the chat template adds a few dozen more)."""
    text = SOURCE_TEXT.read_text(encoding="utf-8") if SOURCE_TEXT.is_file() else "The quick brown fox. " * 2000
    chars = target_tokens * 4
    measured = count_tokens_on_server(base_url, text[:chars])
    return text[: int(chars * target_tokens / measured)]


def measure_generation(
    client: OpenAI, model: str, base_url: str, passage: str, run: int, max_tokens: int
) -> GenerationRun:
    messages = [
        {"role": "system", "content": f"Session {run}. You are a careful assistant who summarises documents."},
        {"role": "user", "content": f"{passage}\n\n{QUESTION}"},
    ]
    started = time.monotonic()
    first = last = None
    pieces: list[str] = []
    stream = client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True  # type: ignore[arg-type]
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.monotonic()
            first = first or last
            pieces.append(chunk.choices[0].delta.content)
    if first is None or last is None:
        raise SystemExit("the model produced no tokens")
    # The prompt is now cached, so this non-streaming call returns the exact prompt size at once.
    usage = client.chat.completions.create(model=model, messages=messages, max_tokens=1).usage  # type: ignore[arg-type]
    return GenerationRun(
        prompt_tokens=usage.prompt_tokens if usage else count_tokens_on_server(base_url, passage),
        generated_tokens=count_tokens_on_server(base_url, "".join(pieces)),
        time_to_first_token=first - started,
        decode_seconds=last - first,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=1000)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=2, help="generation runs (each with a fresh prompt prefix)")
    parser.add_argument("--start-runs", type=int, default=3, help="server starts per model")
    args = parser.parse_args()

    qwen = load_llm_server_settings(llm_threads=args.threads, llm_context_window=4096, _env_file=None)
    smol = load_llm_server_settings(llm_model_path=packaged_test_model(), llm_threads=args.threads, _env_file=None)
    logs = Path(tempfile.mkdtemp(prefix="enclave-bench-llm-"))
    print(f"threads={args.threads}  generation model={qwen.gguf_path}  logs={logs}")

    for settings in (qwen, smol):
        times = [measure_start(settings, logs) for _ in range(args.start_runs)]
        runs_text = ", ".join(f"{t:.2f}" for t in times)
        print(f"start-up {settings.gguf_path.name}: median {statistics.median(times):.2f} s  (runs: {runs_text})")

    with LlamaCppServer(qwen, port=find_free_port(), log_dir=logs, progress=None) as server:
        http = httpx.Client(trust_env=False)  # a proxy from the environment must not see loopback traffic
        client = OpenAI(base_url=server.base_url, api_key="unused", timeout=600, http_client=http)
        passage = build_passage(server.base_url, args.prompt_tokens)
        runs = [
            measure_generation(client, server.model_name, server.base_url, passage, n, args.max_tokens)
            for n in range(1, args.runs + 1)
        ]
    for n, r in enumerate(runs, start=1):
        print(
            f"run {n}: prompt {r.prompt_tokens} tok, TTFT {r.time_to_first_token:.1f} s"
            f" → {r.prompt_rate:.1f} prompt tok/s;"
            f" generated {r.generated_tokens} tok in {r.decode_seconds:.1f} s → {r.decode_rate:.1f} tok/s"
        )
    print(
        f"median: prompt {statistics.median(r.prompt_rate for r in runs):.1f} tok/s, "
        f"TTFT {statistics.median(r.time_to_first_token for r in runs):.1f} s, "
        f"generation {statistics.median(r.decode_rate for r in runs):.1f} tok/s"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LLMServerError as exc:
        sys.exit(f"error: {exc}")
