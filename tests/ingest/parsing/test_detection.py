"""ingest.parsing.detection: real types from bytes, early refusals with plain reasons, text decoding."""

from __future__ import annotations

import csv
import shutil
import zipfile

import pytest
from shared_data import BAD, DOCS

from ingest.errors import CorruptDocument, EmptyDocument, EncryptedDocument, UnsupportedFileType
from ingest.parsing.detection import decode_text, detect_file_type, read_text

# MANIFEST's `format` column → our kind
_FORMAT_KINDS = {"htm": "html"}


def _docs_manifest() -> list[dict[str, str]]:
    with (DOCS / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.parametrize("row", _docs_manifest(), ids=lambda row: row["file"])
def test_every_shared_document_is_recognised_as_its_format(row):
    kind = detect_file_type(str(DOCS / row["file"])).kind

    assert kind == _FORMAT_KINDS.get(row["format"], row["format"])


def test_png_named_pdf_is_refused_naming_what_it_really_is():
    with pytest.raises(UnsupportedFileType, match="not a PDF: the content is a PNG image"):
        detect_file_type(str(BAD / "quarterly-report.pdf"))


def test_executable_is_refused_as_executable():
    with pytest.raises(UnsupportedFileType, match="unsupported format: executable"):
        detect_file_type(str(BAD / "setup.exe"))


def test_random_bytes_are_refused_as_binary_data():
    with pytest.raises(UnsupportedFileType, match="unsupported format: binary data"):
        detect_file_type(str(BAD / "firmware.bin"))


def test_plain_text_named_docx_is_read_as_text():
    assert detect_file_type(str(BAD / "meeting-notes.docx")).kind == "txt"


def test_html_named_docx_is_read_as_html(tmp_path):
    page = tmp_path / "export.docx"
    page.write_text("<!DOCTYPE html><html><body><h1>Report</h1><p>Body.</p></body></html>", encoding="utf-8")

    assert detect_file_type(str(page)).kind == "html"


def test_zip_archive_named_docx_is_refused_as_zip(tmp_path):
    archive = tmp_path / "report.docx"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("notes.txt", "hello")

    with pytest.raises(UnsupportedFileType, match="not a DOCX: the content is a ZIP archive"):
        detect_file_type(str(archive))


def test_file_without_extension_is_typed_by_content(tmp_path):
    copy = tmp_path / "scan0001"
    shutil.copy(DOCS / "memo-supply-delivery.pdf", copy)

    assert detect_file_type(str(copy)).kind == "pdf"


@pytest.mark.parametrize("name", ["encrypted-aes256.pdf", "encrypted-user-password.pdf"])
def test_password_protected_pdf_is_reported_as_encrypted(name):
    with pytest.raises(EncryptedDocument, match="encrypted: password required"):
        detect_file_type(str(BAD / name))


def test_password_protected_office_file_is_reported_as_encrypted():
    with pytest.raises(EncryptedDocument, match="encrypted: password required"):
        detect_file_type(str(BAD / "password-protected.xlsx"))


def test_truncated_pdf_is_reported_as_corrupt():
    with pytest.raises(CorruptDocument, match="corrupt or truncated PDF"):
        detect_file_type(str(BAD / "truncated-paper.pdf"))


def test_pdf_page_count_comes_from_the_page_tree():
    assert detect_file_type(str(DOCS / "rgpd-capitulos-1-3-es.pdf")).pages == 17


@pytest.mark.parametrize("name", ["empty.docx", "empty.pdf"])
def test_zero_byte_file_is_empty(name):
    with pytest.raises(EmptyDocument, match="empty file"):
        detect_file_type(str(BAD / name))


def test_whitespace_only_file_has_no_text_content():
    with pytest.raises(EmptyDocument, match="no text content"):
        detect_file_type(str(BAD / "whitespace-only.txt"))


def test_latin1_text_keeps_its_accents():
    text = read_text(str(BAD / "politica-teletrabajo-latin1.txt"))

    for word in ("Política", "compañía", "télétravail", "Größe", "Übung", "Straße"):
        assert word in text
    assert "\ufffd" not in text


def test_latin1_markdown_keeps_its_umlauts():
    text = read_text(str(BAD / "umlauts-latin1.md"))

    assert "können" in text and "äöüß" in text


def test_utf16_with_bom_is_decoded():
    assert decode_text("Größe: 5 €".encode("utf-16")) == "Größe: 5 €"


def test_utf8_is_decoded_as_utf8():
    assert decode_text("Política – versión".encode("utf-8")) == "Política – versión"
