"""Map the model's [n] markers to the passages it was given, and drop markers that point nowhere."""

from __future__ import annotations

import re

from assistant.models import Citation, Passage

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Every n in [n], [n, m] or [n; m] markers, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def remove_invalid_markers(text: str, valid: set[int]) -> str:
    """Small models invent source numbers: keep only markers that name a passage they were given."""

    def keep(match: re.Match) -> str:
        numbers = [int(p) for p in re.split(r"[,;]", match.group(1))]
        good = [n for n in numbers if n in valid]
        return "[" + ", ".join(str(n) for n in good) + "]" if good else ""

    return _MARKER.sub(keep, text)


def build_citations(text: str, passages: list[Passage]) -> list[Citation]:
    """Citations for the passages the answer cites; if it cites none, every passage it was given."""
    by_number = {p.n: p for p in passages}
    cited = [by_number[n] for n in cited_numbers(text) if n in by_number]
    return [Citation.from_passage(p) for p in sorted(cited or passages, key=lambda p: p.n)]
