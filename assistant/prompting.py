"""Build the chat prompt from numbered passages, fitted to the model's context window."""

from __future__ import annotations

from assistant.models import Passage

SYSTEM_PROMPT = (
    "You are Enclave, a company's private assistant. Answer the question using ONLY the numbered sources below. "
    "After each fact, cite its source as [n] using the source's number. If the sources do not contain the answer, "
    "say that the documents do not say, and do not guess. Answer in the language of the question, concisely."
)

# We cannot see the served model's tokenizer, so budget conservatively: ~3 characters per token holds for
# English and most European languages with BPE vocabularies (it over-counts, which is the safe side).
CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def format_passage(passage: Passage) -> str:
    chunk = passage.chunk
    where = chunk.document_name
    if chunk.page is not None:
        where += f", page {chunk.page}"
    if chunk.section:
        where += " — " + " › ".join(chunk.section)
    return f"[{passage.n}] ({where})\n{chunk.text.strip()}"


def build_messages(
    question: str, passages: list[Passage], context_window: int, max_answer_tokens: int
) -> tuple[list[dict], list[Passage]]:
    """Messages for the chat API, with as many passages (best first) as fit; returns the passages used."""
    budget = context_window - max_answer_tokens - estimate_tokens(SYSTEM_PROMPT) - estimate_tokens(question) - 64
    used: list[Passage] = []
    blocks: list[str] = []
    for passage in passages:
        block = format_passage(passage)
        cost = estimate_tokens(block) + 2
        if cost > budget:
            if not used:  # the best passage alone is too long: give a truncated version rather than nothing
                block = block[: max(0, int(budget * CHARS_PER_TOKEN))]
                used.append(passage)
                blocks.append(block)
            break
        used.append(passage)
        blocks.append(block)
        budget -= cost
    sources = "\n\n".join(blocks)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Sources:\n\n{sources}\n\nQuestion: {question}"},
    ]
    return messages, used
