"""What the app's AppTest tests share: the entry point and how to open it (signed in or not), an Enclave of a test's
own, the address the app believes it listens on, and the accounts of its data folder."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:  # the rest loads when a test asks: this module is a plugin of every test session (tests/conftest.py)
    from streamlit.testing.v1 import AppTest

    from assistant import Accounts, User

APP = Path(__file__).resolve().parents[1] / "ui" / "web" / "app.py"
TIMEOUT = 180  # the first run loads the embedding model; an answer waits for the CPU-bound LLM
PASSWORD = "correct horse battery staple"

# Argon2id with the smallest cost for the accounts a test creates: the app verifies them as it would any hash (and
# renews them with its own parameters). The cost is not what these tests are about.
QUICK = dict(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def keep_main_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest leaves sys.modules["__main__"] set to the app script; later tests' spawned workers would re-run it."""
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])


@pytest.fixture
def own_enclave() -> Iterator[None]:
    """No Enclave cached before the test, and the one it opens closed after it (on_release releases its store)."""
    import streamlit as st

    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What the app's download buttons hand the browser, by the URL on the button (`at.download_button[0].proto.url`).
    AppTest keeps such files in a media store of each run's own and drops it when the run ends: this one keeps a copy
    of what is put in, and is the real store otherwise."""
    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    kept: dict[str, bytes] = {}

    class KeptMediaFiles(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data: str | bytes, mimetype: str, kind: Any,
                            filename: str | None = None) -> str:
            file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
            kept[self.get_url(file_id)] = self.get_file(file_id).content
            return file_id

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", KeptMediaFiles)
    return kept


@contextmanager
def listening_on(address: str) -> Iterator[None]:
    """The address the app listens on, as `enclave app` gives it to Streamlit (--server.address, from
    ENCLAVE_APP_HOST); AppTest starts no server, so the test sets the option itself, and puts it back after."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        yield
    finally:
        config.set_option("server.address", before)


@pytest.fixture
def on_loopback() -> Iterator[None]:
    with listening_on("127.0.0.1"):
        yield


@pytest.fixture
def beyond_loopback() -> Iterator[None]:
    with listening_on("0.0.0.0"):
        yield


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_enclave: None, on_loopback: None) -> Path:
    """A new data folder without documents or accounts, and an Enclave of the test's own on it; sign-in required
    (ENCLAVE_AUTH's default), the app on loopback."""
    data = tmp_path / "data"
    monkeypatch.setenv("ENCLAVE_DATA_DIR", str(data))
    monkeypatch.delenv("ENCLAVE_AUTH", raising=False)
    monkeypatch.delenv("ENCLAVE_DEFAULT_USER", raising=False)
    return data


@pytest.fixture
def accounts(empty_data_dir: Path) -> Iterator[Accounts]:
    """The accounts of the test's data folder, opened beside the app's (one SQLite file, two connections)."""
    with data_dir_accounts() as opened:
        yield opened


@contextmanager
def data_dir_accounts(data_dir: Path | None = None, **options: Any) -> Iterator[Accounts]:
    """The accounts of a data folder (ENCLAVE_DATA_DIR's unless given), with the quick hasher (options: a clock)."""
    from argon2 import PasswordHasher

    from assistant import Passwords, load_assistant_settings, open_accounts
    from ingest import load_settings

    settings = load_settings() if data_dir is None else load_settings(data_dir=data_dir)
    opened = open_accounts(settings, load_assistant_settings(), passwords=Passwords(PasswordHasher(**QUICK)),
                           **options)
    try:
        yield opened
    finally:
        opened.close()


def open_app(page: str | None = None, *, session: str | None = None) -> AppTest:
    """A new browser session on the app (on `page`, as if opened by its address). `session`: the token of a session
    this tab signed in to, as the sign-in page leaves it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if session is not None:
        at.session_state["session_token"] = session
    if page is not None:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit(at: AppTest, button: str, **fields: str) -> AppTest:
    """Type into the text fields (by key) and press the form's button; the run that follows must not fail."""
    for key, value in fields.items():
        at.text_input(key=key).input(value)
    at.button(key=button).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def signed_in_app(accounts: Accounts, name: str, page: str | None = None) -> AppTest:
    """The app in a tab where `name` has signed in: a real session, checked by the app on every run."""
    return open_app(page, session=accounts.start_session(accounts.get(name).user()))


def member(accounts: Accounts, name: str = "mia", groups: tuple[str, ...] = ()) -> User:
    return accounts.add_user(name, "member", groups, PASSWORD, by="root").user()


def admin(accounts: Accounts, name: str = "root") -> User:
    return accounts.add_user(name, "admin", (), PASSWORD, by="root").user()
