"""The model's [n] markers: read them, drop those that point nowhere, strip them for display elsewhere."""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_VARIANT = re.compile(r"[\[(](?:n|ref|id|source|sources|fuente|quelle)\s*[=:#]?\s*\"?(\d+)\"?[\])]", re.IGNORECASE)
_SOURCE_TAG = re.compile(r"</?\s*source\b[^>\n]*>\n?", re.IGNORECASE)  # the prompt's quoting, echoed back
_PLACEHOLDER = re.compile(r"\s*\[(?:n|N|source|sources|\?)\]")  # the prompt's "[n]" copied literally


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
    """Small models invent source numbers: keep only markers that name a passage they were given. Markers written
    in another shape ("[n=1]", "[source 2]", "(Source 3)") are read as [n] first; the prompt's <source> tags,
    echoed back, are removed."""
    text = _VARIANT.sub(lambda m: f"[{m.group(1)}]", _SOURCE_TAG.sub("", text))

    def keep(match: re.Match) -> str:
        numbers = [int(p) for p in re.split(r"[,;]", match.group(1))]
        good = [n for n in numbers if n in valid]
        return "[" + ", ".join(str(n) for n in good) + "]" if good else ""

    return _PLACEHOLDER.sub("", _MARKER.sub(keep, text))


def strip_markers(text: str) -> str:
    """The text without its [n] markers (and the space before each)."""
    return re.sub(r"\s*" + _MARKER.pattern, "", text)
