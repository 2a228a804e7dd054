"""Whether the text a system extracted from a file is usable: empty, markup, binary, or ok (stdlib only, so both
bench/peers.py's runners, in Enclave's venv and in the peer's own, judge with this same code).

The rules, applied in this order to all the text a system stored for one file (its chunks or nodes, joined):
- empty:  fewer than 20 non-space characters;
- binary: over 1 % of the characters are control characters (other than tab, newline, carriage return, form
          feed) or U+FFFD, or base64-looking runs (tokens of 60 or more [A-Za-z0-9+/=]) make up over 5 % of the text;
- markup: HTML/XML tags and entities, or RTF control words, make up over 5 % of the text;
- ok:     anything else.
"""

from __future__ import annotations

import re

EMPTY_BELOW = 20  # non-space characters
CONTROL_SHARE = 0.01
BASE64_SHARE = 0.05
MARKUP_SHARE = 0.05

RULES = (
    f"empty = under {EMPTY_BELOW} non-space characters; "
    f"binary = over {CONTROL_SHARE:.0%} control/U+FFFD characters, or base64-looking runs "
    f"(60+ of [A-Za-z0-9+/=]) over {BASE64_SHARE:.0%} of the text; "
    f"markup = HTML/XML tags and entities or RTF control words over {MARKUP_SHARE:.0%} of the text"
)

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{60,}")
_TAG = re.compile(r"</?[A-Za-z!?][^<>]{0,400}>|&(?:[A-Za-z]{2,8}|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")
_RTF = re.compile(r"\\[a-z]{1,32}(?:-?\d{1,10})? ?|\\'[0-9a-fA-F]{2}|\\\*")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


def judge_text(text: str) -> str:
    """'empty', 'binary', 'markup' or 'ok' for all the text one file yielded (the rules in the module docstring)."""
    if sum(not c.isspace() for c in text) < EMPTY_BELOW:
        return "empty"
    size = len(text)
    controls = sum(1 for c in text if (c < " " and c not in _ALLOWED_CONTROLS) or "\x7f" <= c <= "\x9f" or c == "\ufffd")
    if controls > CONTROL_SHARE * size:
        return "binary"
    if sum(len(m) for m in _BASE64_RUN.findall(text)) > BASE64_SHARE * size:
        return "binary"
    markup = sum(len(m) for m in _TAG.findall(text)) + sum(len(m) for m in _RTF.findall(text))
    if markup > MARKUP_SHARE * size:
        return "markup"
    return "ok"
