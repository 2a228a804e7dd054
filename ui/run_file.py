"""Where the REST API serving an embedded store runs on this machine, for the command line: a file in the data folder
(`api.json`, readable by its owner alone) with the API's loopback address, the serving process and a token made for
this run. `enclave ingest`, `search` and `ask` find it, and send their work through that API instead of opening the
store, which one process alone may hold.

The token stands for the command line's user, an admin: whoever can read the data folder could open the store
directly anyway, when no app holds it. It is new each time the API starts, and the file goes when it stops."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

RUN_FILE = "api.json"


@dataclass(frozen=True)
class RunningApi:
    url: str  # http://127.0.0.1:PORT, without /v1
    pid: int
    token: str


def run_file(data_dir: Path) -> Path:
    return Path(data_dir) / RUN_FILE


def new_token() -> str:
    return "local_" + secrets.token_urlsafe(32)


def loopback_url(host: str, port: int) -> str:
    """How this machine reaches an API listening on host:port: an API on every interface is also on loopback."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_run_file(data_dir: Path, api: RunningApi) -> Path:
    """Write the file for owner's eyes only (created 0600, then moved into place: a reader never sees half of it)."""
    path = run_file(data_dir)
    partial = path.with_name(f".{RUN_FILE}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(asdict(api), out)
    os.replace(partial, path)
    return path


def remove_run_file(data_dir: Path, api: RunningApi) -> None:
    """Remove the file if it is still this API's (another process may have started since, and written its own)."""
    if read_run_file(data_dir) == api:
        run_file(data_dir).unlink(missing_ok=True)


def read_run_file(data_dir: Path) -> RunningApi | None:
    """The API the file names, if its process is alive; None without a file, or for one a killed process left."""
    try:
        data = json.loads(run_file(data_dir).read_text())
        api = RunningApi(url=str(data["url"]), pid=int(data["pid"]), token=str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return api if process_alive(api.pid) else None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
