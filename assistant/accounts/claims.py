"""Who a single sign-on is: the account name, groups and role that an OpenID Connect provider's ID token claims give
(a pure function). Which claims to read is configured (ENCLAVE_OIDC_NAME_CLAIM, ENCLAVE_OIDC_GROUPS_CLAIM,
ENCLAVE_OIDC_ADMIN_GROUP): providers differ, and their set-ups are in docs/sso.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from assistant.accounts.directory import EVERYONE, MAX_NAME, clean_groups, is_account_name
from assistant.errors import AccountError, SingleSignOnRefused

FALLBACK_NAME_CLAIM = "email"  # Entra ID and Okta always know it; preferred_username needs the profile scope


@dataclass(frozen=True)
class ClaimMapping:
    """Which claims name the account and its groups, and which group makes an admin ("" = the provider does not
    decide roles: accounts it creates are members, and an account's role is left as an admin set it)."""

    name_claim: str = "preferred_username"
    groups_claim: str = "groups"
    admin_group: str = ""


@dataclass(frozen=True)
class SsoIdentity:
    """Who the provider says signed in. `is_admin` is None when the provider does not decide roles; `ignored_groups`
    are groups of the claim that cannot be Enclave groups (kept out, and named in the sign-in's audit record)."""

    name: str
    groups: tuple[str, ...]
    is_admin: bool | None
    ignored_groups: tuple[str, ...] = ()


def identity_from_claims(claims: Mapping[str, Any], mapping: ClaimMapping) -> SsoIdentity:
    """The identity in an ID token's claims; SingleSignOnRefused when they name no account Enclave can have, or carry
    their groups in a form it cannot read (the message says which claim and what to configure)."""
    name = _name(claims, mapping.name_claim)
    raw = _groups(claims, mapping.groups_claim)
    groups: list[str] = []
    ignored: list[str] = []
    for group in raw:
        if _is_group(group):
            if group != EVERYONE and group not in groups:
                groups.append(group)
        elif group not in ignored:
            ignored.append(group)
    is_admin = (mapping.admin_group in raw) if mapping.admin_group else None
    return SsoIdentity(name=name, groups=tuple(groups), is_admin=is_admin, ignored_groups=tuple(ignored))


def _name(claims: Mapping[str, Any], claim: str) -> str:
    for tried in dict.fromkeys((claim, FALLBACK_NAME_CLAIM)):
        value = claims.get(tried)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not is_account_name(value):
            raise SingleSignOnRefused(
                f"the identity provider's {tried!r} claim ({str(value)[:MAX_NAME]!r}) cannot be an account name "
                f"(1 to {MAX_NAME} characters without spaces): set ENCLAVE_OIDC_NAME_CLAIM to a claim that holds a "
                "login name or an e-mail address")
        return value
    raise SingleSignOnRefused(
        f"the identity provider sent neither a {claim!r} nor an {FALLBACK_NAME_CLAIM!r} claim to name the account: "
        "ask for the `profile` and `email` scopes, or set ENCLAVE_OIDC_NAME_CLAIM to a claim it sends (docs/sso.md)")


def _groups(claims: Mapping[str, Any], claim: str) -> tuple[str, ...]:
    value = claims.get(claim)
    if value is None:
        # Entra ID leaves the groups out of a token when there are too many and points at Graph instead ("overage"),
        # which Enclave does not call: signing in as if in no group would silently hide the person's documents.
        if claim in (claims.get("_claim_names") or {}):
            raise SingleSignOnRefused(
                f"the identity provider left the {claim!r} claim out of the token (too many groups) and only points "
                "at where to look them up: send only the groups assigned to the application (docs/sso.md, Entra ID)")
        return ()  # a provider may leave out an empty list: no groups but `everyone`
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(group, str) for group in value):
        return tuple(value)
    raise SingleSignOnRefused(
        f"the identity provider's {claim!r} claim is not a list of group names: configure it to send the group names "
        "(docs/sso.md), or set ENCLAVE_OIDC_GROUPS_CLAIM to the claim that holds them")


def _is_group(group: str) -> bool:
    """Whether an account may be in this group (what `enclave users set-groups` accepts)."""
    try:
        clean_groups([group])
    except AccountError:
        return False
    return True
