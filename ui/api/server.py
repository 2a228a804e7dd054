"""`enclave api`: one Enclave for the process, opened to write (as the app's), served by uvicorn until Ctrl-C or
SIGTERM, then closed (its embedded store's lock let go)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from ui.settings import UISettings, check_auth


def run_api(settings: UISettings, host: str | None = None, port: int | None = None) -> int:
    """Serve the API on host:port (default ENCLAVE_API_HOST:ENCLAVE_API_PORT); 0 once stopped. Raises UnsafeSettings
    for ENCLAVE_AUTH=none beyond loopback, and the assistant's or ingest's errors when the Enclave cannot open (the
    store in use by another process, a bad setting).

    uvicorn stops serving on either signal, then raises it again: by default SIGTERM would then kill the process
    before the Enclave is closed. Both signals end here as the same orderly stop (exit 0), as in `enclave llm serve`."""
    import uvicorn

    from assistant import load_assistant_settings, open_enclave
    from ingest import load_settings
    from ui.api.app import create_app

    host = settings.api_host if host is None else host
    port = settings.api_port if port is None else port
    check_auth(settings.auth, host, "the API", "ENCLAVE_API_HOST (or --host)")
    enclave = open_enclave(load_settings(), load_assistant_settings(), read_only=False)
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
    try:
        uvicorn.run(create_app(enclave, settings), host=host, port=port, log_level="info")
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, raised again by uvicorn once it has stopped serving
        pass
    finally:
        enclave.close()
        if on_main_thread:  # None means a handler set outside Python: fall back to the default
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C."""
    raise KeyboardInterrupt
