"""Start the Streamlit app (and, for `enclave up` / `make run`, the embedded LLM server beside it, and the REST API
from the app's process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ui.errors import UIError
from ui.settings import UISettings, check_auth
from ui.web import SERVER_FILE
from ui.web.single_sign_on import check_secrets


def streamlit_command(settings: UISettings) -> list[str]:
    # Streamlit reads its secrets from the working folder's and the home folder's .streamlit/secrets.toml, unless told.
    secrets = ["--secrets.files", str(Path(settings.secrets_file).expanduser())] if settings.secrets_file else []
    return [
        sys.executable, "-m", "streamlit", "run", str(SERVER_FILE),
        "--server.address", settings.app_host,
        "--server.port", str(settings.app_port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",  # no telemetry, ever
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",  # no "Deploy" button or developer menu for users
        *secrets,
    ]


def run_app(settings: UISettings) -> int:
    """Run Streamlit in the foreground until it exits. Unsafe settings, and a single sign-on set-up that cannot work,
    are refused first (UnsafeSettings)."""
    check_auth(settings.auth, settings.app_host)
    check_secrets(settings.secrets_file)
    return subprocess.call(streamlit_command(settings))


def wait_for_app(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UIError(f"the app exited during start-up (exit code {process.returncode}); see the output above")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise UIError(f"the app did not answer at {url} within {timeout:.0f} s")


def llm_answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def api_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for_api(url: str, process: subprocess.Popen, timeout: float = 300) -> bool:
    """Wait while the app's process opens the store and loads the models for its API; False if it has not answered
    within `timeout` (the app goes on: its output says why)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if api_answers(url):
            return True
        time.sleep(1)
    return False


def run_stack(settings: UISettings, with_llm: bool = True, with_api: bool = True) -> int:
    """Start the embedded LLM server and the app, with the REST API served from the app's process (it shares the
    app's store); Ctrl-C stops them. Unsafe settings, and an API port already taken, are refused before anything
    starts (UnsafeSettings, UIError)."""
    from contextlib import ExitStack

    from assistant import LlamaCppServer
    from ui.api.server import listen
    from ui.run_file import loopback_url

    check_auth(settings.auth, settings.app_host)
    check_secrets(settings.secrets_file)
    if with_api:
        check_auth(settings.auth, settings.api_host, "the API", "ENCLAVE_API_HOST")
        listen(settings.api_host, settings.api_port).close()  # the port is free (or the error says what to do)
    base_url = os.environ.get("ENCLAVE_LLM_BASE_URL", f"http://{settings.llm_host}:{settings.llm_port}/v1")
    _stop_on_signals()
    with ExitStack() as stack:
        if with_llm and not llm_answers(base_url):
            server = stack.enter_context(LlamaCppServer(settings))
            base_url = server.base_url
        elif with_llm:
            print(f"Using the LLM server already running at {base_url}", file=sys.stderr)
        env = dict(os.environ, ENCLAVE_LLM_BASE_URL=base_url, ENCLAVE_API_WITH_APP="true" if with_api else "false")
        app = subprocess.Popen(streamlit_command(settings), env=env)
        stack.callback(_stop, app)
        url = f"http://{settings.app_host}:{settings.app_port}"
        wait_for_app(url, app)
        api = ""
        if with_api:
            api_url = loopback_url(settings.api_host, settings.api_port)
            print(f"Loading the models for the API at {api_url}…", file=sys.stderr, flush=True)
            if wait_for_api(api_url, app):
                api = f"; API: {api_url}/v1, its reference at {api_url}/docs"
            else:
                print(f"The API is not answering at {api_url} yet: see the output above", file=sys.stderr)
        print(f"\nEnclave is ready: {url}  (LLM: {base_url}{api}; Ctrl-C stops)\n", flush=True)
        try:
            return app.wait()
        except KeyboardInterrupt:
            print("\nStopping…", file=sys.stderr)
            return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C and `kill` both stop the stack cleanly (children included), even when started from a script
    that ignores SIGINT for background jobs."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
