"""What Docker Compose does to docker-compose.yml before it runs it, for the tests that check the file without Docker:
read an env file, interpolate `${VAR}` forms in every value, keep the services of the active profiles.

Compose's rules (the Compose Specification, "Interpolation"): `$VAR` and `${VAR}`; `${VAR:-default}` when unset or
empty, `${VAR-default}` when unset; `${VAR:?message}`/`${VAR?message}` stop with the message; `${VAR:+other}` and
`${VAR+other}` the other way round; defaults may hold interpolations; `$$` is a literal `$`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MissingVariable(ValueError):
    """A `${VAR:?message}` whose variable is unset (or empty, with the colon): Compose refuses to start."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file; blank lines and # comments skipped, one pair of surrounding quotes removed."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def interpolate_text(text: str, env: Mapping[str, str]) -> str:
    """`text` with every interpolation replaced, as Compose does for one value."""
    out, _ = _interpolate(text, 0, env, closing=False)
    return out


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Every string inside a parsed YAML document interpolated (values only, as Compose does; keys stay)."""
    if isinstance(value, str):
        return interpolate_text(value, env)
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    return value


def active_services(document: Mapping[str, Any], profiles: set[str]) -> dict[str, Any]:
    """The services Compose starts with these profiles: those without `profiles`, and those in an active one."""
    return {
        name: service
        for name, service in document["services"].items()
        if not service.get("profiles") or profiles & set(service["profiles"])
    }


def _interpolate(text: str, start: int, env: Mapping[str, str], closing: bool) -> tuple[str, int]:
    """Interpolate from `start` to the end, or, with `closing`, to the `}` that ends a default; returns the text and
    the index after it."""
    out, i = [], start
    while i < len(text):
        char = text[i]
        if closing and char == "}":
            return "".join(out), i + 1
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            replaced, i = _braced(text, i + 2, env)
            out.append(replaced)
        elif (match := _NAME.match(text, i + 1)) is not None:
            out.append(env.get(match.group(), ""))
            i = match.end()
        else:
            raise ValueError(f"invalid interpolation at {i} in {text!r}: a lone $ must be written $$")
    if closing:
        raise ValueError(f"unclosed ${{ in {text!r}")
    return "".join(out), i


def _braced(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    """One `${…}` whose name starts at `i`."""
    match = _NAME.match(text, i)
    if match is None:
        raise ValueError(f"invalid variable name at {i} in {text!r}")
    name, i = match.group(), match.end()
    if text.startswith("}", i):
        return env.get(name, ""), i + 1
    operator = next((op for op in (":-", ":?", ":+", "-", "?", "+") if text.startswith(op, i)), None)
    if operator is None:
        raise ValueError(f"invalid interpolation ${{{name}{text[i:i + 2]}… in {text!r}")
    word, i = _interpolate(text, i + len(operator), env, closing=True)
    is_set = name in env
    usable = is_set and (env[name] != "" or not operator.startswith(":"))
    if operator.endswith("-"):
        return (env[name] if usable else word), i
    if operator.endswith("+"):
        return (word if usable else ""), i
    if not usable:
        raise MissingVariable(f"required variable {name} is missing a value: {word}")
    return env[name], i
