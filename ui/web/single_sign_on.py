"""Single sign-on: an OpenID Connect provider signs people in through Streamlit's st.login, configured by the [auth]
section of the app's secrets.toml (docs/sso.md). What comes back is the ID token's claims, in st.user; the accounts
turn them into an Enclave account (Accounts.sign_in_with_sso) and ui/web/identity.py starts an Enclave session, as a
password does. From then on the Enclave session is the truth: signing out, expiry and a removed account end it.

Streamlit keeps the claims in a signed cookie of its own for 30 days. Each sign-in's claims are used once (the
provider's ID token is spent here, in this server process), so that cookie never signs anyone in again after signing
out, after a session ended or an account was removed: that takes a new sign-in at the provider.

The app's server talks only to the provider the secrets name (its discovery document, keys and token endpoint); the
browser goes to its sign-in page. Nothing else is contacted.
"""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping

import streamlit as st

from ui.errors import UnsafeSettings

# What the [auth] section must hold for a provider of its own ("default"): st.login's keys.
REQUIRED_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
CALLBACK_PATH = "/oauth2callback"  # where Streamlit takes the provider's answer: the redirect URI to register
MIN_COOKIE_SECRET = 32  # characters: it signs the cookie that holds the claims (secrets.token_urlsafe(32) gives 43)

REFUSED_KEY = "sso.refused"  # str, in st.session_state: why the last sign-in through the provider was refused


def auth_problems(section: Mapping[str, Any]) -> list[str]:
    """What keeps an [auth] section from working, each with what to write instead (empty: it works)."""
    problems = [f"{key} is missing" for key in REQUIRED_KEYS if not str(section.get(key) or "").strip()]
    redirect = str(section.get("redirect_uri") or "")
    if redirect and not redirect.rstrip("/").endswith(CALLBACK_PATH):
        problems.append(f"redirect_uri must be the app's address followed by {CALLBACK_PATH} (got {redirect})")
    secret = str(section.get("cookie_secret") or "")
    if secret and len(secret) < MIN_COOKIE_SECRET:
        problems.append(f"cookie_secret must be at least {MIN_COOKIE_SECRET} random characters: "
                        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return problems


def secrets_files(secrets_file: str) -> list[Path]:
    """The secrets files the app reads: ENCLAVE_SECRETS_FILE, or Streamlit's own places (the home folder's, then the
    working folder's, which wins)."""
    if secrets_file:
        return [Path(secrets_file).expanduser()]
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def check_secrets(secrets_file: str) -> None:
    """Refuse to start the app on a secrets file that is named but missing or unreadable, or whose [auth] section
    cannot work (UnsafeSettings: the message names the file and what to change)."""
    if secrets_file and not Path(secrets_file).expanduser().is_file():
        raise UnsafeSettings(f"ENCLAVE_SECRETS_FILE names {secrets_file}, which is not a file: point it at the app's "
                             "secrets.toml (docs/sso.md), or unset it")
    for path in secrets_files(secrets_file):
        try:
            section = tomllib.loads(path.read_text(encoding="utf-8")).get("auth") if path.is_file() else None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UnsafeSettings(f"cannot read the secrets in {path}: {exc}") from exc
        if isinstance(section, dict) and (problems := auth_problems(section)):
            raise UnsafeSettings(f"single sign-on is set up in {path} ([auth]) but cannot work: "
                                 + "; ".join(problems) + " (docs/sso.md)")


def configured_auth() -> Mapping[str, Any] | None:
    """The [auth] section of the secrets the app was started with, or None when there is none."""
    if not st.secrets.load_if_toml_exists():
        return None
    section = st.secrets.get("auth")
    return section if isinstance(section, Mapping) else None


class SpentSignIns:
    """The ID tokens already used to sign in, by issuer, subject, time of issue and nonce, each kept until it expires
    (then the claims are refused anyway). `clock`: seconds since the epoch, as the token's `exp` claim counts."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._spent: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()  # every session's script thread signs in through it

    def take(self, claims: Mapping[str, Any]) -> bool:
        """True the first time a live token's claims come here; False when they expired or were used already."""
        expires = claims.get("exp")
        if isinstance(expires, bool) or not isinstance(expires, (int, float)):
            return False
        key = tuple(str(claims.get(claim, "")) for claim in ("iss", "sub", "iat", "nonce"))
        with self._lock:
            now = self._clock()
            for spent in [k for k, until in self._spent.items() if until <= now]:
                del self._spent[spent]
            if expires <= now or key in self._spent:
                return False
            self._spent[key] = float(expires)
            return True


# One per server process, as the browser session that returns from the provider is served by this process.
SPENT = SpentSignIns()


def returned_claims(spent: SpentSignIns = SPENT) -> Mapping[str, Any] | None:
    """The claims of a sign-in at the provider not yet used here, once; None otherwise (no single sign-on set up,
    nobody signed in at the provider, or a sign-in used already or expired)."""
    if configured_auth() is None:
        return None
    claims = st.user.to_dict()
    return claims if claims.get("is_logged_in") is True and spent.take(claims) else None


def sign_out_of_provider() -> None:
    """Forget the provider's sign-in in this browser and, where the provider offers it, end it there too (st.logout
    goes through its end-session page and back to the app)."""
    if configured_auth() is not None and st.user.to_dict().get("is_logged_in") is True:
        st.logout()


def offer_single_sign_on(otherwise: str) -> None:
    """On a page for people not signed in: why the last sign-in through the provider was refused, and its button (or
    what is wrong with its set-up), then `otherwise`, leading to the page's form. Nothing when the secrets set none
    up."""
    section = configured_auth()
    if section is None:
        return
    if refused := st.session_state.pop(REFUSED_KEY, None):
        st.error(refused, icon=":material/error:")
    if problems := auth_problems(section):
        st.error("Single sign-on cannot work: " + "; ".join(problems) + ". An admin fixes it in the app's "
                 "secrets.toml (docs/sso.md).", icon=":material/error:")
        return
    if st.button("Sign in with single sign-on", key="sso-sign-in", type="primary", icon=":material/key:"):
        st.login()
    st.caption(otherwise)

