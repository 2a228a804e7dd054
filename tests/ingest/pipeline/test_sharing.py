"""A document's groups change without embedding it again, and a crash at any step of the change leaves it with its old
groups or its new ones, in the store and the registry alike: real files, model, embedded store, and the registry on
SQLite and PostgreSQL (`database_url`), faults injected between the steps (in this process, and one real kill -9)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest import DocumentBusy, DocumentNotFound, SharingRefused, open_database
from ingest.models import SearchFilter
from ingest.settings import load_settings
from ingest.store import Registry

POLICY = "Travel policy. Employees book economy class for flights under six hours.\n"
MEMO = "Budget memo. The finance team closes the quarter on the fifth working day.\n"


class Crash(BaseException):
    """Stands in for the process dying at this point: nothing after it runs, not even the change's own undo."""


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "policy.txt").write_text(POLICY)
    (folder / "memo.txt").write_text(MEMO)
    return folder


@pytest.fixture
def open_ingestor(data_dir, database_url, shared_models):
    opened = []

    def open_(**settings):
        settings.setdefault("database_url", database_url)
        ingestor = shared_models.ingestor(load_settings(data_dir=data_dir, _env_file=None, **settings))
        opened.append(ingestor)
        return ingestor

    yield open_
    for ingestor in opened:
        ingestor.close()  # closing twice is harmless: the store and database say so only when used


@pytest.fixture
def ingestor(open_ingestor, folder):
    ingestor = open_ingestor()
    results = ingestor.ingest([folder], groups=["hr", "legal"])
    assert {r.status for r in results} == {"added"}
    return ingestor


def policy_of(ingestor):
    (record,) = ingestor.registry.find("policy.txt")
    return record


def groups_in_store(ingestor, document_id: str) -> set[tuple[str, ...]]:
    return {chunk.groups for chunk in ingestor.store.document_chunks(document_id)}


def assert_consistent(ingestor, groups: tuple[str, ...], before) -> None:
    """The policy has exactly these groups in the registry and on every chunk, and nothing else of it changed."""
    record = ingestor.registry.get(before.document_id)
    assert record is not None and record.groups == groups
    assert groups_in_store(ingestor, before.document_id) == {groups}
    assert ingestor.registry.pending() == []
    assert (record.version, record.chunks) == (before.version, before.chunks)  # nothing deleted or embedded again
    assert ingestor.store.count(SearchFilter(document_ids=(before.document_id,))) == before.chunks


def test_grant_and_revoke_change_the_store_and_the_registry_without_embedding_again(ingestor, monkeypatch):
    before = policy_of(ingestor)
    chunk_ids = {c.chunk_id for c in ingestor.store.document_chunks(before.document_id)}

    def no_embedding(*_):
        raise AssertionError("a change of groups embedded something")

    monkeypatch.setattr(ingestor.embedder, "embed_documents", no_embedding)

    assert ingestor.sharing.grant("policy.txt", "finance").groups == ("hr", "legal", "finance")
    assert_consistent(ingestor, ("hr", "legal", "finance"), before)
    assert ingestor.sharing.revoke(before.document_id, "hr").groups == ("legal", "finance")
    assert_consistent(ingestor, ("legal", "finance"), before)
    assert {c.chunk_id for c in ingestor.store.document_chunks(before.document_id)} == chunk_ids
    (memo,) = ingestor.registry.find("memo.txt")
    assert memo.groups == ("hr", "legal") and groups_in_store(ingestor, memo.document_id) == {("hr", "legal")}


def test_granting_a_group_the_document_has_changes_nothing(ingestor):
    before = policy_of(ingestor)

    assert ingestor.sharing.grant(before.source, "legal") == before
    assert_consistent(ingestor, ("hr", "legal"), before)


def test_revoking_the_last_group_leaves_the_document_to_admins_alone(ingestor):
    before = policy_of(ingestor)
    ingestor.sharing.revoke("policy.txt", "hr")

    after = ingestor.sharing.revoke("policy.txt", "legal")

    assert after.groups == ()
    assert_consistent(ingestor, (), before)
    assert ingestor.store.count(SearchFilter(groups=("hr", "legal", "everyone"), document_ids=(before.document_id,))) == 0


def test_revoking_a_group_the_document_is_not_shared_with_is_refused_and_says_its_groups(ingestor):
    before = policy_of(ingestor)

    with pytest.raises(SharingRefused, match=r"not shared with 'finanse'.*shared with hr, legal"):
        ingestor.sharing.revoke("policy.txt", "finanse")
    assert_consistent(ingestor, ("hr", "legal"), before)


@pytest.mark.parametrize("group", ["", " hr", "a" * 129, "tab\there"])
def test_a_group_name_that_cannot_work_is_refused(ingestor, group):
    with pytest.raises(SharingRefused, match="cannot be a group"):
        ingestor.sharing.grant("policy.txt", group)
    assert_consistent(ingestor, ("hr", "legal"), policy_of(ingestor))


def test_an_unknown_or_ambiguous_document_is_refused(ingestor, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "policy.txt").write_text("Another policy entirely, about parking spaces.\n")
    ingestor.ingest([other], groups=["ops"])

    with pytest.raises(DocumentNotFound, match="no stored document"):
        ingestor.sharing.grant("nothing.pdf", "hr")
    with pytest.raises(DocumentNotFound, match="2 stored documents are called 'policy.txt'"):
        ingestor.sharing.grant("policy.txt", "finance")
    assert ingestor.sharing.grant(str(other / "policy.txt"), "finance").groups == ("ops", "finance")  # by its path


def test_a_document_being_written_by_another_writer_is_refused_untouched(ingestor):
    before = policy_of(ingestor)

    with ingestor.registry.lock(before.document_id):  # an ingestion of it, in another thread or process
        assert ingestor.registry.claim(before.document_id)
        with pytest.raises(DocumentBusy, match="being written right now"):
            ingestor.sharing.revoke("policy.txt", "hr")

        assert ingestor.registry.get(before.document_id).groups == ("hr", "legal")
        assert groups_in_store(ingestor, before.document_id) == {("hr", "legal")}
        assert ingestor.registry.pending() == [before.document_id]  # the other writer's mark is left alone


def test_a_document_an_interrupted_writer_left_is_refused_until_repaired(ingestor):
    before = policy_of(ingestor)
    assert ingestor.registry.claim(before.document_id)  # marked, and nobody holds it: its writer died

    with pytest.raises(DocumentBusy, match="interrupted run.*repairs it"):
        ingestor.sharing.revoke("policy.txt", "hr")
    ingestor.repair()

    assert ingestor.sharing.revoke("policy.txt", "hr").groups == ("legal",)
    assert_consistent(ingestor, ("legal",), before)


# -- faults and crashes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["store", "registry"])
def test_a_change_that_fails_midway_is_undone_before_it_raises(ingestor, monkeypatch, failing):
    from ingest import DatabaseUnavailable, StoreUnavailable

    before = policy_of(ingestor)
    set_in_store = ingestor.store.set_document_groups
    error: Exception

    def store_write_lands_then_fails(document_id, groups):
        set_in_store(document_id, groups)  # it landed, but the caller hears a failure
        monkeypatch.setattr(ingestor.store, "set_document_groups", set_in_store)  # the undo's write goes through
        raise error

    def registry_write_fails(*_):
        raise error

    if failing == "store":
        error = StoreUnavailable("the store stopped answering (injected)")
        monkeypatch.setattr(ingestor.store, "set_document_groups", store_write_lands_then_fails)
    else:
        error = DatabaseUnavailable("the database stopped answering (injected)")
        monkeypatch.setattr(ingestor.registry, "set_groups", registry_write_fails)

    with pytest.raises(type(error)):
        ingestor.sharing.revoke("policy.txt", "hr")

    monkeypatch.undo()
    assert_consistent(ingestor, ("hr", "legal"), before)
    assert ingestor.sharing.revoke("policy.txt", "hr").groups == ("legal",)  # nothing stuck: it can be done again


# Where a crash can land, and the groups the document has once the next writer has opened (and repaired).
CRASH_POINTS = {
    "after the pending mark": ("claim", ("hr", "legal")),
    "after the store's write": ("store", ("hr", "legal")),
    "after the registry's write": ("registry", ("legal",)),
}


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_any_step_leaves_the_old_groups_or_the_new_ones_everywhere(ingestor, open_ingestor, monkeypatch,
                                                                              point):
    step, expected = CRASH_POINTS[point]
    before = policy_of(ingestor)
    sharing = ingestor.sharing

    def then_crash(method):
        def call(*args, **kwargs):
            method(*args, **kwargs)
            raise Crash(point)

        return call

    monkeypatch.setattr(type(sharing), "_undo", lambda *_: None)  # a dead process undoes nothing
    if step == "claim":
        monkeypatch.setattr(sharing.registry, "claim", then_crash(sharing.registry.claim))
    elif step == "store":
        monkeypatch.setattr(sharing.store, "set_document_groups", then_crash(sharing.store.set_document_groups))
    else:
        monkeypatch.setattr(sharing.registry, "set_groups", then_crash(sharing.registry.set_groups))

    with pytest.raises(Crash):
        ingestor.sharing.revoke("policy.txt", "hr")
    assert ingestor.registry.pending() == [before.document_id]
    monkeypatch.undo()
    ingestor.close()

    reopened = open_ingestor()  # the next writer repairs as it opens

    assert_consistent(reopened, expected, before)


def test_kill_9_after_the_store_is_written_leaves_the_old_groups_after_repair(ingestor, open_ingestor, data_dir,
                                                                             database_url):
    """A real process killed with SIGKILL between the store's write (flushed) and the registry's: the store alone
    has the new groups. Repair shares the chunks with the registry's groups again."""
    before = policy_of(ingestor)
    ingestor.close()
    script = (
        "import os, signal, sys\n"
        "from ingest import load_settings, open_ingestor\n"
        "from ingest.store import Registry\n"
        "ingestor = open_ingestor(load_settings(data_dir=sys.argv[1], _env_file=None))\n"
        "Registry.set_groups = lambda *_: os.kill(os.getpid(), signal.SIGKILL)\n"
        "ingestor.sharing.revoke('policy.txt', 'hr')\n"
        "sys.exit(3)  # not reached\n"
    )
    env = dict(os.environ, **({"ENCLAVE_DATABASE_URL": database_url} if database_url else {}))
    killed = subprocess.run([sys.executable, "-c", script, str(data_dir)], cwd=Path(__file__).resolve().parents[3],
                            env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr

    database = open_database(load_settings(data_dir=data_dir, database_url=database_url, _env_file=None))
    try:  # as the killed process left it: marked pending, the old groups recorded
        assert Registry(database).pending() == [before.document_id]
        assert Registry(database).get(before.document_id).groups == ("hr", "legal")
    finally:
        database.close()

    reopened = open_ingestor()  # the next writer repairs as it opens

    assert_consistent(reopened, ("hr", "legal"), before)


# -- ingestion and groups -------------------------------------------------------------------------------------------


def test_ingesting_again_without_groups_keeps_a_revoke(ingestor, folder):
    before = policy_of(ingestor)
    ingestor.sharing.revoke("policy.txt", "hr")

    results = ingestor.ingest([folder])  # a nightly run of `enclave ingest FOLDER`, no --group

    assert {r.status for r in results} == {"unchanged"}
    assert_consistent(ingestor, ("legal",), before)


def test_ingesting_unchanged_content_with_other_groups_reshares_it_without_embedding(ingestor, folder, monkeypatch):
    before = policy_of(ingestor)
    monkeypatch.setattr(ingestor.embedder, "embed_documents", lambda *_: pytest.fail("embedded again"))

    results = ingestor.ingest([folder / "policy.txt"], groups=["finance"])

    assert [(r.status, r.chunks) for r in results] == [("updated", before.chunks)]
    assert_consistent(ingestor, ("finance",), before)


def test_a_new_document_without_groups_gets_the_default_group(open_ingestor, folder):
    ingestor = open_ingestor(default_group="staff")
    ingestor.ingest([folder / "policy.txt"])
    before = policy_of(ingestor)

    assert_consistent(ingestor, ("staff",), before)


def test_a_revoke_made_while_a_document_is_parsed_is_kept_by_its_reindex(ingestor):
    before = policy_of(ingestor)
    revoked = []

    def revoke_while_parsing(event):  # the admin's click, while the re-index parses the file
        if event.kind == "stage" and event.stage == "embedding" and not revoked:
            revoked.append(ingestor.sharing.revoke("policy.txt", "hr"))

    (result,) = ingestor.reindex(["policy.txt"], progress=revoke_while_parsing)

    after = ingestor.registry.get(before.document_id)
    assert result.status == "updated" and revoked and after.version == before.version + 1
    assert after.groups == ("legal",) and groups_in_store(ingestor, before.document_id) == {("legal",)}


# -- other writers at the same time ---------------------------------------------------------------------------------
# Two writers of one document: the app's threads (two admins), or the app and `enclave` in a terminal, or two app
# replicas on one PostgreSQL. Each test holds one writer at a chosen step (`Held`) while the other does its work, so
# the interleaving is the one named, not whichever the scheduler picks; the waits have a bound only so that a
# deadlock fails the test instead of hanging it.

BOUND = 120  # seconds; never reached unless something is stuck


class Held:
    """Wraps a method so that its first call, once done, holds its thread until `release`; later calls go through."""

    def __init__(self, method):
        self.method = method
        self.reached = threading.Event()
        self._go = threading.Event()

    def __call__(self, *args, **kwargs):
        result = self.method(*args, **kwargs)
        if not self.reached.is_set():
            self.reached.set()
            assert self._go.wait(BOUND), "never released"
        return result

    def wait_reached(self) -> None:
        assert self.reached.wait(BOUND), "the held step was never reached"

    def release(self) -> None:
        self._go.set()


@pytest.fixture
def in_thread():
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="other-writer") as pool:
        yield pool.submit


def test_a_repair_meanwhile_does_not_put_back_the_groups_a_revoke_is_replacing(ingestor, monkeypatch, in_thread):
    """A repair (the end of any other batch, another writer opening) while a revoke has written the store but not the
    registry: it must leave that document to its writer, not share its chunks with the old groups again."""
    before = policy_of(ingestor)
    held = Held(ingestor.store.set_document_groups)
    monkeypatch.setattr(ingestor.store, "set_document_groups", held)
    revoking = in_thread(ingestor.sharing.revoke, "policy.txt", "hr")
    held.wait_reached()

    ingestor.repair()
    held.release()

    assert revoking.result(BOUND).groups == ("legal",)
    assert_consistent(ingestor, ("legal",), before)  # the store too: a member of hr no longer finds it


def test_a_reindex_meanwhile_writes_its_new_version_with_the_groups_a_revoke_gave(ingestor, monkeypatch, in_thread):
    """A re-index of the document started while a revoke is half done: it waits for the revoke (its progress says
    so), then writes its new chunks with the revoked groups, not with those it would have read before."""
    before = policy_of(ingestor)
    held = Held(ingestor.store.set_document_groups)
    monkeypatch.setattr(ingestor.store, "set_document_groups", held)
    revoking = in_thread(ingestor.sharing.revoke, "policy.txt", "hr")
    held.wait_reached()
    waiting = threading.Event()
    reindexing = in_thread(ingestor.reindex, ["policy.txt"],
                           progress=lambda e: e.kind == "stage" and e.stage == "waiting" and waiting.set())
    reindexing.add_done_callback(lambda _: waiting.set())  # without a lock, it runs to its end meanwhile
    assert waiting.wait(BOUND)

    held.release()

    assert revoking.result(BOUND).groups == ("legal",)
    assert [r.status for r in reindexing.result(BOUND)] == ["updated"]
    after = ingestor.registry.get(before.document_id)
    assert (after.version, after.groups) == (before.version + 1, ("legal",))
    assert groups_in_store(ingestor, before.document_id) == {("legal",)}
    assert ingestor.registry.pending() == []


def test_a_repair_meanwhile_leaves_the_new_version_a_reindex_is_writing(ingestor, monkeypatch, in_thread):
    """A repair while a re-index has written its new chunks but not yet recorded them: deleting them as leftovers of
    a crash would leave the document recorded at a version the store no longer has, found by no search."""
    before = policy_of(ingestor)
    held = Held(ingestor.store.upsert)
    monkeypatch.setattr(ingestor.store, "upsert", held)
    reindexing = in_thread(ingestor.reindex, ["policy.txt"])
    held.wait_reached()

    ingestor.repair()
    held.release()

    assert [r.status for r in reindexing.result(BOUND)] == ["updated"]
    after = ingestor.registry.get(before.document_id)
    assert after.version == before.version + 1
    assert {c.version for c in ingestor.store.document_chunks(before.document_id)} == {after.version}
    assert ingestor.store.count(SearchFilter(document_ids=(before.document_id,))) == after.chunks > 0


def test_a_grant_made_after_a_revoke_looked_the_document_up_is_kept(ingestor, monkeypatch):
    """Another admin's grant lands between a revoke's look-up and its write: the revoke removes its group from the
    groups the document has then, and does not put back the ones it read before."""
    before = policy_of(ingestor)
    find = ingestor.registry.find

    def find_then_another_admin_grants(key):
        found = find(key)
        monkeypatch.setattr(ingestor.registry, "find", find)
        ingestor.sharing.grant("policy.txt", "finance")
        return found

    monkeypatch.setattr(ingestor.registry, "find", find_then_another_admin_grants)

    assert ingestor.sharing.revoke("policy.txt", "hr").groups == ("legal", "finance")
    assert_consistent(ingestor, ("legal", "finance"), before)
