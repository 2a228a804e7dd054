"""Who a single sign-on is, from an ID token's claims (a pure function): the name from the configured claim or the
e-mail, the groups Enclave can hold, admin from the admin group, and a clear refusal for claims it cannot use."""

from __future__ import annotations

import pytest

from assistant import SingleSignOnRefused
from assistant.accounts import ClaimMapping, SsoIdentity, identity_from_claims

MAPPING = ClaimMapping(name_claim="preferred_username", groups_claim="groups", admin_group="enclave-admins")


def test_the_name_groups_and_role_come_from_the_configured_claims():
    claims = {"sub": "f81d4fae", "preferred_username": "ana", "email": "ana@example.org",
              "groups": ["finance", "enclave-admins"]}

    assert identity_from_claims(claims, MAPPING) == SsoIdentity("ana", ("finance", "enclave-admins"), True)


def test_without_the_name_claim_the_email_names_the_account():
    assert identity_from_claims({"email": "ana@example.org"}, MAPPING).name == "ana@example.org"


def test_another_claim_can_name_the_account_and_hold_the_groups():
    mapping = ClaimMapping(name_claim="upn", groups_claim="roles", admin_group="Admin")
    claims = {"upn": "ana@corp.example", "preferred_username": "someone-else", "roles": ["Admin"], "groups": ["x"]}

    assert identity_from_claims(claims, mapping) == SsoIdentity("ana@corp.example", ("Admin",), True)


def test_a_member_outside_the_admin_group_is_no_admin_and_without_an_admin_group_the_role_is_not_decided():
    claims = {"preferred_username": "ana", "groups": ["finance"]}

    assert identity_from_claims(claims, MAPPING).is_admin is False
    assert identity_from_claims(claims, ClaimMapping()).is_admin is None


def test_no_groups_claim_means_no_groups_and_a_single_group_may_come_as_a_string():
    assert identity_from_claims({"preferred_username": "ana"}, MAPPING).groups == ()
    assert identity_from_claims({"preferred_username": "ana", "groups": "finance"}, MAPPING).groups == ("finance",)


def test_everyone_and_duplicates_are_dropped_and_groups_enclave_cannot_hold_are_set_aside():
    claims = {"preferred_username": "ana", "groups": ["everyone", "hr", "hr", " padded", "", "tab\there", "x" * 129]}

    identity = identity_from_claims(claims, MAPPING)

    assert identity.groups == ("hr",)
    assert identity.ignored_groups == (" padded", "", "tab\there", "x" * 129)


@pytest.mark.parametrize("claims, says", [
    ({"sub": "f81d4fae"}, "neither a 'preferred_username' nor an 'email' claim"),
    ({"preferred_username": "Ana Lopez"}, "'preferred_username' claim ('Ana Lopez') cannot be an account name"),
    ({"preferred_username": ["ana"]}, "cannot be an account name"),
    ({"preferred_username": "ana", "groups": [1, 2]}, "'groups' claim is not a list of group names"),
    ({"preferred_username": "ana", "groups": {"a": "b"}}, "'groups' claim is not a list of group names"),
])
def test_claims_that_name_no_account_or_no_readable_groups_are_refused_saying_what_to_configure(claims, says):
    with pytest.raises(SingleSignOnRefused, match="ENCLAVE_OIDC|docs/sso.md") as refused:
        identity_from_claims(claims, MAPPING)

    assert says in str(refused.value)


def test_entra_ids_group_overage_is_refused_rather_than_signing_in_without_the_groups():
    claims = {"preferred_username": "ana@corp.example", "_claim_names": {"groups": "src1"},
              "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}

    with pytest.raises(SingleSignOnRefused, match="too many groups"):
        identity_from_claims(claims, MAPPING)
