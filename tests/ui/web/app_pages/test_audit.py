"""The Audit page with AppTest, signed in as an admin on a real Enclave and its audit trail: records newest first,
chosen by dates, who, action family and target, and a limit; the chain verified (and a record edited through SQL
found); the CSV download, the same rows as `enclave audit export --csv`. (A member is refused: tests/ui/
test_identity.py.)"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from streamlit_apps import admin, member, signed_in_app

from assistant import load_assistant_settings, open_audit_trail
from assistant.audit import record_hash
from audit_trails import tamper
from enclave_cli import invoke
from ingest import load_settings
from ui.audit_csv import CSV_COLUMNS

AUDIT = "app_pages/audit.py"

pytestmark = pytest.mark.usefixtures("keep_main_module")


@pytest.fixture
def page(accounts, clock):
    """The Audit page, signed in as the admin root, over six records: #1 and #2 root adding root and mia (now), then
    from 2030-01-07 09:00 UTC, a day apart: #3 root sharing a document with hr, #4 mia signing in, #5 root setting
    mia's groups, and an hour later #6 mia's question."""
    admin(accounts, "root")
    member(accounts, "mia")
    # Retention 0: the records of today would be pruned as long past by a trail that thinks it is 2030.
    trail = open_audit_trail(load_settings(), load_assistant_settings(audit_retention_days=0), clock=clock)
    try:
        trail.record("root", "document.grant", "doc-1", {"group": "hr", "groups": ["everyone", "hr"]})
        clock.advance(days=1)
        trail.record("mia", "sign_in.success")
        clock.advance(days=1)
        trail.record("root", "user.set_groups", "mia", {"groups": ["everyone", "hr"], "before": ["everyone"]})
        clock.advance(hours=1)
        trail.record("mia", "question", "", {"cited": [], "retrieved": [], "not_found": True, "stopped": False})
    finally:
        trail.close()
    at = signed_in_app(accounts, "root", page=AUDIT)
    assert at.title[0].value == "Audit"
    return at


def run(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at) -> list[int]:
    return list(at.dataframe[0].value["#"])


def test_the_trail_is_listed_newest_first_with_who_what_and_details(page):
    table = page.dataframe[0].value

    assert shown(page) == [6, 5, 4, 3, 2, 1]
    assert list(table["Action"][:3]) == ["question", "user.set_groups", "sign_in.success"]
    assert list(table["Who"][:3]) == ["mia", "root", "mia"]
    assert list(table["Target"][:3]) == ["—", "mia", "—"]
    assert table["When (UTC)"][3] == "2030-01-07 09:00:00"
    assert table["Details"][3] == '{"group":"hr","groups":["everyone","hr"]}'
    assert page.main.caption[-1].value == "6 records, newest first."


@pytest.mark.parametrize(("choose", "seqs"), [
    (lambda at: at.date_input(key="audit.since").set_value(date(2030, 1, 8)), [6, 5, 4]),
    (lambda at: at.date_input(key="audit.until").set_value(date(2030, 1, 8)), [4, 3, 2, 1]),  # the whole last day
    (lambda at: at.text_input(key="audit.actor").input("mia"), [6, 4]),
    (lambda at: at.selectbox(key="audit.action").select("user"), [5, 2, 1]),  # the family: user.add, user.set_groups
    (lambda at: at.selectbox(key="audit.action").select("user.add"), [2, 1]),
    (lambda at: at.text_input(key="audit.target").input("mia"), [5, 2]),
])  # fmt: skip
def test_each_filter_chooses_the_records(page, choose, seqs):
    choose(page)

    assert shown(run(page.run())) == seqs


def test_filters_combine_and_a_day_range_is_inclusive(page):
    page.date_input(key="audit.since").set_value(date(2030, 1, 8))
    page.date_input(key="audit.until").set_value(date(2030, 1, 9))
    page.text_input(key="audit.actor").input("mia")

    assert shown(run(page.run())) == [6, 4]


def test_the_limit_keeps_the_newest_and_says_so(page):
    page.number_input(key="audit.limit").set_value(2)

    at = run(page.run())

    assert shown(at) == [6, 5]
    assert "the newest 2" in at.main.caption[-1].value


def test_no_match_and_days_in_the_wrong_order_say_so(page):
    page.text_input(key="audit.target").input("nobody")
    assert run(page.run()).info[0].value == "No record matches these filters."
    assert not page.dataframe and not page.download_button

    page.text_input(key="audit.target").input("")
    page.date_input(key="audit.since").set_value(date(2030, 1, 9))
    page.date_input(key="audit.until").set_value(date(2030, 1, 7))
    assert "The first day is after the last" in run(page.run()).warning[0].value
    assert not page.dataframe


def test_verify_says_the_chain_is_intact_and_gives_the_newest_hash(page, accounts):
    head = accounts.audit.records()[-1].hash

    at = run(page.button(key="audit-verify").click().run())

    assert at.success[0].value.startswith("6 records, chain intact. Newest record #6")
    assert f"enclave audit verify --known 6:{head}" in at.success[0].value


def test_verify_names_a_record_edited_through_sql(page, accounts):
    tamper(accounts.database, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 4")

    at = run(page.button(key="audit-verify").click().run())

    assert at.error[0].value.startswith("The chain is broken at record #4: its contents no longer give its hash")
    assert "mallory" in at.text[0].value and "sign_in.success" in at.text[0].value


def csv_rows(data: bytes | str) -> list[list[str]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_download_holds_the_chosen_records_as_enclave_audit_export_writes_them(page, downloads):
    page.text_input(key="audit.actor").input("mia")
    at = run(page.run())

    download = at.download_button(key="audit-csv")
    rows = csv_rows(downloads[download.proto.url])
    exported = invoke("audit", "export", "--csv", "-", "--user", "mia")  # the data folder of the app (its env)

    assert exported.exit_code == 0, exported.stderr
    assert rows == csv_rows(exported.stdout)
    assert rows[0] == list(CSV_COLUMNS)
    assert [(row[0], row[2], row[3]) for row in rows[1:]] == [("4", "mia", "sign_in.success"), ("6", "mia", "question")]
    for seq, at_, actor, action, target, details, prev_hash, digest in rows[1:]:  # checkable without Enclave
        assert digest == record_hash(int(seq), at_, actor, action, target, details, prev_hash)


def test_reading_verifying_and_downloading_change_no_record(page, accounts, downloads):
    before = accounts.audit.records()

    page.selectbox(key="audit.action").select("sign_in")
    run(page.run())
    run(page.button(key="audit-verify").click().run())

    assert accounts.audit.records() == before
