"""Follow-up questions: the recent turns that fit the budget, and the question rewritten to stand alone.

"And how many water bottles?" finds nothing by itself; after a question about a delivery memo it means "How many
water bottles were delivered, according to the supply delivery memo?". The rewrite is one short LLM call with
llama-index's condense prompt (the one `CondensePlusContextChatEngine` uses), skipped on the first turn and when
the question already stands alone; the turns kept for the prompt are chosen by llama-index's `ChatMemoryBuffer`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from llama_index.core.base.llms.generic_utils import messages_to_history_str
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.chat_engine.condense_plus_context import DEFAULT_CONDENSE_PROMPT_TEMPLATE
from llama_index.core.memory import ChatMemoryBuffer

from assistant.prompting.citations import strip_markers
from assistant.prompting.prompt import estimate_tokens

if TYPE_CHECKING:
    from assistant.llm import LLMClient

Turn = tuple[str, str]  # (question, answer)

CONDENSE_MAX_TOKENS = 128  # a search query, not an answer (with room for a reasoning model's short thinking)
CONDENSE_TURNS = 3  # the rewrite reads this many recent turns at most

# Words that point back into the conversation. A question with none of them, and long enough to say what it is
# about, stands alone: rewriting it would only cost a call (and risk a worse query).
_REFERRING = {
    "en": r"and|also|too|it|its|it's|this|that|these|those|they|them|their|he|she|his|her|there|then|same|above|"
          r"previous|mentioned|former|latter|one|ones|what about|how about|instead|else|more|other",
    "es": r"y|también|eso|esto|esa|ese|esas|esos|ella|ellos|ellas|su|sus|allí|entonces|mismo|misma|anterior|"
          r"otro|otra|más|qué hay de|y si",
    "de": r"und|auch|das|dies|diese|dieser|dieses|dazu|davon|darüber|dort|er|sie|es|ihr|ihre|sein|seine|dann|"
          r"gleiche|selbe|vorherige|andere|mehr|was ist mit",
    "fr": r"et|aussi|cela|ça|ce|cette|ces|il|elle|ils|elles|leur|leurs|là|alors|même|précédent|autre|plus|"
          r"et pour",
}
_REFERRING_RE = re.compile(r"\b(?:" + "|".join(_REFERRING.values()) + r")\b", re.IGNORECASE)
STANDALONE_MIN_WORDS = 7


def stands_alone(question: str) -> bool:
    """True when the question names its subject itself (no pointer back into the conversation)."""
    words = re.findall(r"\w+", question)
    return len(words) >= STANDALONE_MIN_WORDS and not _REFERRING_RE.search(question)


def recent_turns(history: Sequence[Turn], token_budget: int) -> list[Turn]:
    """The most recent turns whose text fits `token_budget` (whole turns, oldest first), markers removed."""
    if token_budget <= 0:
        return []
    messages: list[ChatMessage] = []
    for question, answer in history:
        messages.append(ChatMessage(role=MessageRole.USER, content=question))
        messages.append(ChatMessage(role=MessageRole.ASSISTANT, content=strip_markers(answer)))
    memory = ChatMemoryBuffer.from_defaults(
        chat_history=messages, token_limit=token_budget, tokenizer_fn=lambda text: [0] * estimate_tokens(text)
    )
    kept = memory.get()
    # The buffer keeps a suffix that starts with a user message: pair it back up.
    return [(kept[i].content or "", kept[i + 1].content or "") for i in range(0, len(kept) - 1, 2)
            if kept[i].role == MessageRole.USER]


def condense_question(llm: "LLMClient", question: str, turns: Sequence[Turn]) -> str:
    """The follow-up rewritten as a standalone search query; the question itself when the model answers nothing
    usable (an empty line, or a rambling paragraph instead of a question)."""
    history = []
    for asked, answered in turns[-CONDENSE_TURNS:]:
        history += [ChatMessage(role=MessageRole.USER, content=asked),
                    ChatMessage(role=MessageRole.ASSISTANT, content=_shorten(answered))]
    prompt = DEFAULT_CONDENSE_PROMPT_TEMPLATE.format(chat_history=messages_to_history_str(history), question=question)
    reply = llm.complete([{"role": "user", "content": prompt}], max_tokens=CONDENSE_MAX_TOKENS, temperature=0.0)
    return clean_rewrite(reply) or question


def clean_rewrite(reply: str) -> str:
    """The first line of the model's reply, without a "Standalone question:" label or quotes; "" if unusable."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = re.sub(r"^(standalone question|question|rephrased question)\s*:\s*", "", lines[0], flags=re.IGNORECASE)
    line = line.strip().strip('"“”«»').strip()
    if len(line) < 3 or len(line) > 400:
        return ""
    return line


def _shorten(answer: str, limit: int = 600) -> str:
    text = " ".join(strip_markers(answer).split())
    return text if len(text) <= limit else text[:limit] + "…"
