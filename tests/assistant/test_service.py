"""One Enclave: components built once and shared; read-only opening starts no parse worker and writes nothing;
writes are for admins; documents are listed within what the user may see. Real store, real embedding model."""

from __future__ import annotations

import shutil

import pytest

from assistant import AssistantError, NotAllowed, User, load_assistant_settings, open_enclave
from databases import opened_registry
from ingest import load_settings

ADMIN = User("root", groups=("it",), is_admin=True)
ALICE = User("alice", groups=("everyone",))
MALLORY = User("mallory", groups=("contractors",))


@pytest.fixture
def data_dir(ingested_data_dir, tmp_path):
    """A copy of the session's ingested data folder (its store is closed), for a test that writes or breaks it."""
    copy = tmp_path / "data"
    shutil.copytree(ingested_data_dir, copy)
    return copy


def open_at(data_dir, **options):
    return open_enclave(load_settings(data_dir=data_dir, _env_file=None), load_assistant_settings(_env_file=None),
                        **options)


def test_one_set_of_components_serves_the_retriever_and_the_ingestor(data_dir):
    enclave = open_at(data_dir)
    try:
        retriever, parts = enclave.assistant.retriever, enclave.components
        assert retriever.embedder is parts.embedder and retriever.sparse is parts.sparse
        assert retriever.store is parts.store
        assert enclave.ingestor is not None and enclave.ingestor.components is parts
    finally:
        enclave.close()


def test_read_only_opens_no_parse_workers_and_leaves_an_interrupted_write_for_the_writer(data_dir):
    """A pending mark is what a killed ingestion leaves; repairing it deletes chunks, which is a write."""
    with opened_registry(data_dir) as registry:
        [record, *_] = registry.all()
        registry.begin(record.document_id)

    enclave = open_at(data_dir, read_only=True)
    try:
        assert enclave.ingestor is None
        assert enclave.components.registry.pending() == [record.document_id]
        hits = enclave.assistant.search("bottles of water delivered", ALICE, k=3)
        assert hits and hits[0].chunk.document_name == "memo-supply-delivery.pdf"
        with pytest.raises(AssistantError, match="read-only"):
            enclave.remove([record.document_id], ADMIN)
        with pytest.raises(AssistantError, match="read-only"):
            enclave.latest_batch(running=False)
    finally:
        enclave.close()

    enclave = open_at(data_dir)
    try:
        assert enclave.components.registry.pending() == []  # the writer repaired it when it opened
        assert record.document_id in {r.document_id for r in enclave.documents()}  # and kept the complete version
    finally:
        enclave.close()


def test_only_an_admin_may_change_documents(data_dir):
    enclave = open_at(data_dir)
    try:
        [record, *_] = enclave.documents()
        with pytest.raises(NotAllowed, match="only admins"):
            enclave.remove([record.document_id], ALICE)
        with pytest.raises(NotAllowed):
            enclave.reindex([record.document_id], ALICE)
        with pytest.raises(NotAllowed):
            enclave.ingest([data_dir / "nothing.txt"], ALICE)
        assert record.document_id in {r.document_id for r in enclave.documents()}
        [removed] = enclave.remove([record.document_id], ADMIN)
        assert removed.status == "removed"
        assert record.document_id not in {r.document_id for r in enclave.documents()}
    finally:
        enclave.close()


def test_a_user_is_listed_only_the_documents_of_their_groups(ingested_data_dir):
    enclave = open_at(ingested_data_dir, read_only=True)
    try:
        everything = enclave.documents()
        assert everything and enclave.documents(ALICE) == everything  # the samples are for "everyone"
        assert enclave.documents(MALLORY) == []
    finally:
        enclave.close()


def test_the_accounts_live_beside_the_documents_and_a_member_sees_those_of_everyone(data_dir):
    """Opening the Enclave (read-only too) brings the accounts' tables up in its database; a member signed in through
    them is in `everyone`, so sees the documents ingested without a group. `open_accounts` finds the same accounts."""
    from assistant import open_accounts

    enclave = open_at(data_dir, read_only=True)
    try:
        enclave.accounts.create_first_admin("root", "correct horse battery staple")
        enclave.accounts.add_user("alice", password="alice's long passphrase", by="root")
        alice = enclave.accounts.sign_in("alice", "alice's long passphrase")
        assert enclave.documents(alice) == enclave.documents() != []
    finally:
        enclave.close()

    accounts = open_accounts(load_settings(data_dir=data_dir, _env_file=None), load_assistant_settings(_env_file=None))
    try:
        assert [a.name for a in accounts.list_users()] == ["alice", "root"]
    finally:
        accounts.close()


# -- who may see a document: grant and revoke, seen by the next question ------------------------------------------

HR_MEMBER = User("hana", groups=("everyone", "hr"))
POLICY = "Travel policy. Employees book economy class for flights under six hours, business class above.\n"


@pytest.fixture(params=["edge", "server"])
def sharing_enclave(request, tmp_path, monkeypatch, shared_models):
    """A writable Enclave holding policy.txt, shared with `finance` only: on the embedded store, or on qdrant-client's
    local mode standing in for a Qdrant server (as in tests/ingest/store/test_store.py)."""
    if request.param == "server":
        import ingest.components
        from qdrant_client import QdrantClient
        from ingest.store import QdrantServerStore

        def server_store(settings, dimension, fusion="rrf"):
            client = QdrantClient(path=str(tmp_path / "qdrant-local"))
            return QdrantServerStore(client, settings.collection, dimension, fusion=fusion)

        monkeypatch.setattr(ingest.components, "open_store", server_store)
    (tmp_path / "policy.txt").write_text(POLICY)
    enclave = shared_models.enclave(load_settings(data_dir=tmp_path / "data", _env_file=None),
                                    load_assistant_settings(_env_file=None))
    try:
        assert type(enclave.components.store).__name__ == {"edge": "EdgeStore", "server": "QdrantServerStore"}[
            request.param]
        [added] = enclave.ingest([tmp_path / "policy.txt"], ADMIN, groups=["finance"])
        assert added.status == "added"
        yield enclave, added.document_id
    finally:
        enclave.close()


def sees(enclave, user: User, document_id: str) -> dict[str, bool]:
    """Whether the user finds the document by searching, sees it listed, and may open its original."""
    found = any(p.chunk.document_id == document_id
                for p in enclave.assistant.search("economy class flights travel policy", user, k=5))
    listed = document_id in {r.document_id for r in enclave.documents(user)}
    try:
        enclave.original_file(user, document_id)
        opened = True
    except NotAllowed:
        opened = False
    return {"search": found, "listing": listed, "original": opened}


def test_a_grant_is_seen_by_the_next_search_listing_and_opening(sharing_enclave):
    enclave, document_id = sharing_enclave
    assert sees(enclave, HR_MEMBER, document_id) == {"search": False, "listing": False, "original": False}

    assert enclave.grant("policy.txt", "hr", ADMIN) == ("finance", "hr")

    assert sees(enclave, HR_MEMBER, document_id) == {"search": True, "listing": True, "original": True}


def test_after_a_revoke_the_next_search_listing_and_opening_see_nothing_of_it(sharing_enclave):
    enclave, document_id = sharing_enclave
    enclave.grant(document_id, "hr", ADMIN)
    assert sees(enclave, HR_MEMBER, document_id) == {"search": True, "listing": True, "original": True}

    assert enclave.revoke(document_id, "hr", ADMIN) == ("finance",)

    assert sees(enclave, HR_MEMBER, document_id) == {"search": False, "listing": False, "original": False}
    assert sees(enclave, ADMIN, document_id) == {"search": True, "listing": True, "original": True}


def test_revoking_the_last_group_leaves_the_document_to_admins(sharing_enclave):
    enclave, document_id = sharing_enclave
    finance = User("fiona", groups=("everyone", "finance"))

    assert enclave.revoke("policy.txt", "finance", ADMIN) == ()

    assert sees(enclave, finance, document_id) == {"search": False, "listing": False, "original": False}
    assert sees(enclave, ADMIN, document_id) == {"search": True, "listing": True, "original": True}


def test_only_an_admin_may_grant_or_revoke(sharing_enclave):
    enclave, _ = sharing_enclave
    with pytest.raises(NotAllowed, match="only admins"):
        enclave.grant("policy.txt", "hr", HR_MEMBER)
    with pytest.raises(NotAllowed, match="only admins"):
        enclave.revoke("policy.txt", "finance", User("fiona", groups=("finance",)))

    assert [r.groups for r in enclave.documents()] == [("finance",)]


def test_a_read_only_enclave_refuses_to_grant_or_revoke(ingested_data_dir, shared_models):
    enclave = shared_models.enclave(load_settings(data_dir=ingested_data_dir, _env_file=None),
                                    load_assistant_settings(_env_file=None), read_only=True)
    try:
        [record, *_] = enclave.documents()
        with pytest.raises(AssistantError, match="read-only"):
            enclave.grant(record.document_id, "hr", ADMIN)
        with pytest.raises(AssistantError, match="read-only"):
            enclave.revoke(record.document_id, "everyone", ADMIN)
        assert enclave.documents()[0] == record
    finally:
        enclave.close()


def test_documents_ingested_without_groups_get_the_default_group(tmp_path, shared_models):
    (tmp_path / "policy.txt").write_text(POLICY)
    enclave = shared_models.enclave(load_settings(data_dir=tmp_path / "data", default_group="staff", _env_file=None),
                                    load_assistant_settings(_env_file=None))
    try:
        assert enclave.default_group == "staff"
        enclave.ingest([tmp_path / "policy.txt"], ADMIN)
        assert [r.groups for r in enclave.documents()] == [("staff",)]
    finally:
        enclave.close()
