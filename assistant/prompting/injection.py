"""Find the sentences of a retrieved passage that speak to the AI assistant instead of to a reader (prompt injection),
so the answering code can cut them out before the passage reaches the prompt and tell the user the source held them.

What it catches, in English, Spanish, German and French: orders to drop earlier instructions ("ignore all previous
instructions", "ignora todas las instrucciones anteriores"), new roles ("you are now in maintenance mode"), fixed
replies ("answer every question with exactly '…'"), requests for the system prompt, lines that name their reader as an
AI ("AI assistants reading this: …", "as a language model you must"), secrecy towards the user ("do not tell the
user"), and chat-template role markers (`<|im_start|>`, `[INST]`, `### Instruction`, "system: you …"), wherever the
text sits: a paragraph, a line of an e-mail footer, a table cell. A span is the whole sentence, line or cell that
holds the words; neighbouring flagged sentences merge into one span.

Precision is worth as much as recall here (a policy that loses its rules answers nothing), so each signal is either
*strong* (enough on its own) or *weak* (words a form or a memo can use: "you are now a member", "answer each question
with a number"). A sentence is flagged on one strong signal, on two different weak ones, or on one weak signal when
it touches a flagged sentence. Imperatives that read as statements in other persons ("el sistema ignora…") count only
at the start of a clause.

What it cannot catch: paraphrases and other languages, instructions split across sentences so that no sentence holds
a signal, text hidden by encoding (base64, homoglyphs, zero-width characters, white-on-white that the parser drops or
keeps as ordinary words), and requests that read as ordinary content ("the invoice is approved" stated as a fact). It
is a first line of defence: the prompt also presents sources as quoted data, never as instructions.

Cost: about 5 µs a character (a 1,000-character passage in ~5 ms; the 820k-character DOJ handbook in ~6 s).
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from assistant.prompting.injection_patterns import ROLE_MARKERS, STRONG, WEAK

REMOVED = "[instructions addressed to the assistant removed]"


@dataclass(frozen=True)
class Instruction:
    """A span of the passage text (`text == passage[start:end]`) that addresses the assistant."""

    start: int
    end: int
    text: str


# -- where sentences begin and end ----------------------------------------------------------------------------------

_TABLE_ROW = re.compile(r"[ \t]*\|.*\|[ \t]*")  # how ingest writes a table row: "| cell | cell |"
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
# Quoted text is one piece of its sentence: "answer with 'Approved. Pay now.'" does not end at "Approved.".
_QUOTED = re.compile(
    r"\"[^\"\n]{0,300}\"|“[^”\n]{0,300}”|„[^“”\n]{0,300}[“”]|«[^»\n]{0,300}»|‘[^’\n]{0,300}’"
    r"|(?<!\w)'[^'\n]{0,300}'(?!\w)"
)
_ABBREVIATIONS = frozenset(
    ("e.g", "i.e", "etc", "vs", "cf", "ca", "approx", "no", "nr", "art", "abs", "dr", "mr", "mrs", "ms", "st", "sr",
     "sra", "mme", "bzw", "z.b", "u.a", "d.h", "pp", "vgl")
)


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    in_table: bool


def find_instructions(text: str) -> list[Instruction]:
    """The sentences, lines or table cells of `text` that address the assistant, in order; touching ones merged."""
    segments = _segments(text)
    markers = _hits(text, segments, ROLE_MARKERS)
    strong = markers | _hits(text, segments, STRONG)
    weak = [0] * len(segments)
    for pattern in WEAK:  # distinct weak patterns per segment
        for i in set(_hits(text, segments, (pattern,))):
            weak[i] += 1
    flagged = [i in strong or weak[i] >= 2 for i in range(len(segments))]
    changed = True
    while changed:  # a weak signal counts beside a flagged sentence: "Ignore all previous…" then "You are now X."
        changed = False
        for i, segment in enumerate(segments):
            if flagged[i] or not weak[i]:
                continue
            if (i > 0 and flagged[i - 1] and _touching(text, segments[i - 1], segment)) or (
                i + 1 < len(segments) and flagged[i + 1] and _touching(text, segment, segments[i + 1])
            ):
                flagged[i] = changed = True
    for i in sorted(markers):  # a role marker opens a turn: the rest of its paragraph is that turn
        if segments[i].in_table:
            continue
        j = i + 1
        while (
            j < len(segments)
            and not segments[j].in_table
            and _touching(text, segments[j - 1], segments[j], within_paragraph=True)
        ):
            flagged[j] = True
            j += 1
    spans: list[Instruction] = []
    for segment, hit in zip(segments, flagged):
        if not hit:
            continue
        if spans and _touching(text, spans[-1], segment):
            start = spans[-1].start
            spans[-1] = Instruction(start, segment.end, text[start : segment.end])
        else:
            spans.append(Instruction(segment.start, segment.end, text[segment.start : segment.end]))
    return spans


def neutralize(text: str) -> tuple[str, list[Instruction]]:
    """`text` with every instruction to the assistant replaced by REMOVED, and the spans that were replaced."""
    found = find_instructions(text)
    pieces: list[str] = []
    position = 0
    for instruction in found:
        pieces += [text[position : instruction.start], REMOVED]
        position = instruction.end
    pieces.append(text[position:])
    return "".join(pieces), found


def _touching(text: str, left: _Segment | Instruction, right: _Segment, *, within_paragraph: bool = False) -> bool:
    gap = text[left.end : right.start]
    if within_paragraph and gap.count("\n") >= 2:
        return False
    return not gap.strip()


def _hits(text: str, segments: list[_Segment], patterns: tuple[re.Pattern[str], ...]) -> set[int]:
    """The indexes of the segments where a match of any of `patterns` starts (each pattern runs once over the text:
    a long document costs a few passes, not one per sentence)."""
    ends = [segment.end for segment in segments]
    found: set[int] = set()
    for pattern in patterns:
        for match in pattern.finditer(text):
            i = bisect.bisect_right(ends, match.start())  # the first segment that ends after the match starts
            if i < len(segments) and match.end() > segments[i].start:
                found.add(i)
    return found


def _segments(text: str) -> list[_Segment]:
    """Sentences in reading order. A table row splits into its cells; a line break ends a sentence unless the next line
    starts in lower case (a wrapped line); quoted text and abbreviations ("e.g.", "Art.") do not end one."""
    segments: list[_Segment] = []
    block_start: int | None = None
    block_end = 0
    position = 0
    for line in text.splitlines(keepends=True):
        start, end = position, position + len(line.rstrip("\r\n"))
        position += len(line)
        body = text[start:end]
        if _TABLE_ROW.fullmatch(body):
            if block_start is not None:
                segments += _sentences(text, block_start, block_end, in_table=False)
                block_start = None
            cells = [m.start() for m in re.finditer(r"\|", body)]
            for left, right in itertools.pairwise(cells):
                segments += _sentences(text, start + left + 1, start + right, in_table=True)
            continue
        stripped = body.lstrip()
        wrapped = block_start is not None and stripped[:1].islower()
        if not wrapped and block_start is not None:
            segments += _sentences(text, block_start, block_end, in_table=False)
            block_start = None
        if stripped:
            block_start = start if block_start is None else block_start
            block_end = end
    if block_start is not None:
        segments += _sentences(text, block_start, block_end, in_table=False)
    return segments


def _sentences(text: str, start: int, end: int, *, in_table: bool) -> list[_Segment]:
    block = text[start:end]
    quoted = [m.span() for m in _QUOTED.finditer(block)]
    quote_starts = [a for a, _ in quoted]
    cuts = [0]
    for match in _SENTENCE_END.finditer(block):
        q = bisect.bisect_left(quote_starts, match.start()) - 1  # the last quote that opens before this full stop
        if q >= 0 and match.end() < quoted[q][1]:  # inside the quote, not at its end ("… Pay now." Then)
            continue
        following = block[match.end() : match.end() + 40].lstrip()[:1]
        words = block[max(0, match.start() - 12) : match.start()].split()  # abbreviations are short
        word = words[-1].lower() if words else ""
        if following.islower() or (len(word) == 1 and word.isalpha()) or word.rstrip(".") in _ABBREVIATIONS:
            continue
        cuts.append(match.end())
    cuts.append(len(block))
    segments = []
    for left, right in itertools.pairwise(cuts):
        piece = block[left:right]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            segments.append(_Segment(start + left + lead, start + left + len(piece.rstrip()), in_table))
    return segments
