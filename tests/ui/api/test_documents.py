"""/v1/documents against the real API on loopback (tests/api_servers.py): members list what their groups may see and
may not change anything; an admin uploads real files (ingested by the real pipeline, each broken one failing with its
reason while the rest go on), deletes them, and the audit trail records both with the key's account."""

from __future__ import annotations

import httpx
import pytest

from api_servers import MEMO, bearer
from shared_data import BAD, DOCS

MOBY = "moby-dick-opening.docx"  # "Call me Ishmael."


@pytest.fixture(scope="module")
def carol_key(api_enclave, keys) -> str:
    """A member of sailors, the group the admin's uploads below are shared with."""
    api_enclave.accounts.add_user("carol", "member", ["sailors"], by="test")
    return api_enclave.accounts.keys.create("carol", by="test").secret


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]


def listed(http, key) -> dict[str, dict]:
    response = http.get("/v1/documents", headers=bearer(key))
    assert response.status_code == 200, response.text
    return {d["name"]: d for d in response.json()["data"]}


def upload(http, key, *paths, groups=(), names=None):
    files = [("files", (name, path.read_bytes())) for name, path in zip(names or [p.name for p in paths], paths)]
    return http.post("/v1/documents", files=files, data={"groups": list(groups)}, headers=bearer(key))


def found(http, key, query) -> set[str]:
    response = http.post("/v1/search", json={"query": query, "k": 5}, headers=bearer(key))
    assert response.status_code == 200, response.text
    return {hit["document"] for hit in response.json()["data"]}


def test_members_list_only_what_their_groups_may_see_and_only_admins_see_the_groups(http, keys):
    alice, bob, root = listed(http, keys["alice"]), listed(http, keys["bob"]), listed(http, keys["root"])

    assert MEMO in alice and MEMO not in bob and MEMO in root
    assert set(bob) < set(root)
    assert {d["groups"] for d in [*alice.values(), *bob.values()]} == {None}
    assert root[MEMO]["groups"] == ["finance"]
    assert root[MEMO]["id"] == alice[MEMO]["id"] and alice[MEMO]["chunks"] > 0


def kept_files(enclave) -> list[str]:
    return sorted(p.name for p in enclave.originals_dir.rglob("*"))


def test_a_member_may_not_upload_and_nothing_they_send_is_kept(http, keys, api_enclave):
    before = kept_files(api_enclave)

    error = error_of(upload(http, keys["alice"], DOCS / MOBY), 403)

    assert "only admins" in error["message"] and error["type"] == "permission_error"
    assert kept_files(api_enclave) == before
    assert MOBY not in listed(http, keys["root"])


def test_a_member_may_not_delete_even_a_document_they_see(http, keys):
    memo = listed(http, keys["alice"])[MEMO]

    assert "only admins" in error_of(http.delete(f"/v1/documents/{memo['id']}", headers=bearer(keys["alice"])),
                                     403)["message"]
    assert MEMO in listed(http, keys["alice"])


def test_an_admin_uploads_a_file_its_group_finds_and_lists_then_deletes_it(http, keys, carol_key, api_enclave):
    response = upload(http, keys["root"], DOCS / MOBY, groups=["sailors"])

    assert response.status_code == 200, response.text
    [result] = response.json()["data"]
    assert (result["file"], result["status"], result["reason"]) == (MOBY, "added", "")
    assert result["chunks"] > 0
    assert listed(http, carol_key)[MOBY]["id"] == result["document_id"]
    assert listed(http, keys["root"])[MOBY]["groups"] == ["sailors"]
    assert MOBY in found(http, carol_key, "Call me Ishmael")
    assert MOBY not in found(http, keys["bob"], "Call me Ishmael") and MOBY not in listed(http, keys["bob"])

    deleted = http.delete(f"/v1/documents/{result['document_id']}", headers=bearer(keys["root"]))

    assert deleted.status_code == 200 and deleted.json() == {"id": result["document_id"], "object": "document",
                                                             "deleted": True}
    assert MOBY not in listed(http, keys["root"]) and MOBY not in found(http, carol_key, "Call me Ishmael")
    actions = [(r.actor, r.action) for r in api_enclave.audit.records(target=result["document_id"])]
    assert ("root", "document.ingest") in actions and ("root", "document.remove") in actions
    again = http.delete(f"/v1/documents/{result['document_id']}", headers=bearer(keys["root"]))
    assert error_of(again, 404)["code"] == "document_not_found"


def test_an_upload_without_groups_is_shared_with_the_default_group(http, keys, api_enclave):
    name = "politica-teletrabajo-latin1.txt"
    response = upload(http, keys["root"], BAD / name)

    assert [r["status"] for r in response.json()["data"]] == ["added"], response.text
    assert listed(http, keys["root"])[name]["groups"] == [api_enclave.default_group]
    assert name in listed(http, keys["bob"])


def test_broken_files_fail_by_name_with_their_reason_and_the_rest_of_the_batch_goes_on(http, keys):
    files = [BAD / "encrypted-aes256.pdf", BAD / "firmware.bin", BAD / "umlauts-latin1.md", BAD / "setup.exe"]
    response = upload(http, keys["root"], *files, names=[p.name for p in files[:-1]] + [".."], groups=["sailors"])

    assert response.status_code == 200, response.text
    results = {r["file"]: r for r in response.json()["data"]}
    assert set(results) == {"encrypted-aes256.pdf", "firmware.bin", "umlauts-latin1.md", ".."}
    assert results["umlauts-latin1.md"]["status"] == "added"
    assert results["encrypted-aes256.pdf"]["status"] == "failed" and "password" in results["encrypted-aes256.pdf"]["reason"]
    assert results["firmware.bin"]["status"] == "failed" and "unsupported" in results["firmware.bin"]["reason"]
    assert results[".."]["status"] == "failed" and "rename the file" in results[".."]["reason"]
    stored = listed(http, keys["root"])
    assert "umlauts-latin1.md" in stored and "encrypted-aes256.pdf" not in stored and "firmware.bin" not in stored


def test_an_upload_over_the_limit_is_a_413_naming_it_and_nothing_is_stored(make_api, keys, http):
    small = make_api(api_max_upload_bytes=4096).removesuffix("/v1")

    with httpx.Client(base_url=small) as client:
        response = upload(client, keys["root"], DOCS / MOBY)

    assert "ENCLAVE_API_MAX_UPLOAD_BYTES" in error_of(response, 413)["message"]
    assert MOBY not in listed(http, keys["root"])


def test_the_upload_limit_is_the_uploads_alone(make_api, keys):
    small = make_api(api_max_upload_bytes=4096).removesuffix("/v1")

    with httpx.Client(base_url=small) as client:
        response = client.post("/v1/search", json={"query": "x" * 5000}, headers=bearer(keys["bob"]))

    assert response.status_code == 200, response.text


def test_an_upload_cannot_skip_waiting_where_no_worker_ingests(http, keys):
    response = http.post("/v1/documents", params={"wait": "false"},
                         files=[("files", ("note.txt", b"A short note."))], headers=bearer(keys["root"]))

    error = error_of(response, 400)
    assert error["code"] == "no_ingestion_queue" and "ENCLAVE_INGEST_QUEUE=postgres" in error["message"]
