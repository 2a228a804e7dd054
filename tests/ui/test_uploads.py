"""Upload names are made safe without changing names that already are; saving them."""

from __future__ import annotations

import io

import pytest

from ingest import MAX_NAME_BYTES
from ui.uploads import UnsafeFileName, safe_file_name, save_upload, save_uploads


@pytest.mark.parametrize(
    "name",
    [
        "Política de privacidad – versión final (2).txt",
        "memo-supply-delivery.pdf",
        "Bericht über Größen.docx",
        "отчёт 2024.xlsx",
        "報告書 (最終).pdf",
        "a..b.txt",
        ".env",
    ],
)
def test_ordinary_names_are_kept_exactly(name):
    assert safe_file_name(name) == name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/cron.d/evil", "evil"),
        ("C:\\Users\\ana\\informe.pdf", "informe.pdf"),
        ("..\\..\\secret.txt", "secret.txt"),
        ("sub/dir/../file.md", "file.md"),
    ],
)
def test_only_the_base_name_is_kept(name, expected):
    assert safe_file_name(name) == expected


@pytest.mark.parametrize("name", ["..", ".", "", "   ", "docs/..", "a/b/", "\x00\x01", "\u202e"])
def test_names_that_are_no_file_are_rejected(name):
    with pytest.raises(UnsafeFileName):
        safe_file_name(name)


def test_control_characters_are_stripped():
    assert safe_file_name("re\x00port\n\t.pdf\x7f") == "report.pdf"


def test_bidi_override_cannot_disguise_the_extension():
    assert safe_file_name("invoice\u202efdp.exe") == "invoicefdp.exe"


def test_persian_zero_width_non_joiner_is_kept():
    name = "می\u200cخواهم.txt"
    assert safe_file_name(name) == name


def test_decomposed_unicode_is_composed():
    assert safe_file_name("Poli\u0301tica.txt") == "Política.txt"


def test_long_names_are_cut_in_the_stem_keeping_the_extension():
    name = "ñ" * 300 + ".pdf"
    safe = safe_file_name(name)
    assert safe.endswith(".pdf")
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert set(safe[:-4]) == {"ñ"}  # no half character left at the cut


def test_save_upload_writes_the_bytes_under_the_safe_name(tmp_path):
    name = "Política de privacidad – versión final (2).txt"
    path = save_upload(name, "Hola, ¿qué tal?".encode(), tmp_path / "originals")
    assert path == tmp_path / "originals" / name
    assert path.read_text() == "Hola, ¿qué tal?"
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left behind


def test_save_upload_cannot_escape_the_folder(tmp_path):
    path = save_upload("../../outside.txt", b"x", tmp_path / "originals")
    assert path.parent == tmp_path / "originals"
    assert not (tmp_path / "outside.txt").exists()


def test_save_upload_reads_a_file_object_from_its_start(tmp_path):
    upload = io.BytesIO(b"0123456789")
    upload.read()  # already read once, as on an earlier rerun
    assert save_upload("n.txt", upload, tmp_path).read_bytes() == b"0123456789"


def test_uploading_the_same_name_again_replaces_the_file(tmp_path):
    save_upload("a.txt", b"old", tmp_path)
    assert save_upload("a.txt", b"new", tmp_path).read_bytes() == b"new"


def test_save_uploads_reports_refused_names_and_saves_the_rest(tmp_path):
    saved, refused = save_uploads([("..", b"x"), ("ok.txt", b"y")], tmp_path)
    assert [p.name for p in saved] == ["ok.txt"]
    assert [(r.path, r.status) for r in refused] == [("..", "failed")]
    assert "rename the file" in refused[0].reason
