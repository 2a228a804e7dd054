"""The Recorder on its own (SQLite and PostgreSQL): a document's sharing recorded with its groups after, under the
admin acting as an account; a change it cannot record is an error that says the change was made."""

from __future__ import annotations

import pytest

from assistant import AuditUnavailable, User
from assistant.audit import Recorder
from audit_trails import tamper

ADMIN = User("root", groups=("it",), is_admin=True)


def test_sharing_is_recorded_with_the_group_and_the_groups_after(trail):
    Recorder(trail).sharing(ADMIN, "document.grant", "d1", "hr", ("everyone", "hr"))
    Recorder(trail).sharing(User("alice", impersonated_by="root"), "document.revoke", "d1", "hr", ("everyone",))

    assert [(r.actor, r.action, r.target, r.details) for r in trail.records()] == [
        ("root", "document.grant", "d1", {"group": "hr", "groups": ["everyone", "hr"]}),
        ("root", "document.revoke", "d1", {"group": "hr", "groups": ["everyone"], "as": "alice"}),
    ]


def test_a_sharing_change_that_cannot_be_recorded_is_an_error_saying_it_was_made(trail):
    tamper(trail.database, "DELETE FROM audit_chain")

    with pytest.raises(AuditUnavailable, match="1 document changes were made but could not be recorded"):
        Recorder(trail).sharing(ADMIN, "document.grant", "d1", "hr", ("everyone", "hr"))
