"""ingest.parsing: every shared document parses offline with its structure; every bad file gets its named outcome."""

from __future__ import annotations

import csv
import shutil

import pytest
from shared_data import BAD, DOCS

from ingest import parsing
from ingest.errors import (
    CorruptDocument,
    DocumentError,
    EmptyDocument,
    EncryptedDocument,
    MissingSystemTool,
    UnsupportedFileType,
)
from ingest.models import ParsedDocument
from ingest.parsing import parse_file, table_to_text

# War and Peace takes ~80 s through unstructured's per-paragraph classifier; its opening is parsed instead.
_TOO_SLOW_FOR_THE_SUITE = {"war-and-peace-tolstoy.txt"}
_LANGUAGES_WE_CHECK = {"en", "es", "de", "fr"}

# Every file in bad/ and what must happen to it: an error class with words its reason must hold, or "parse".
BAD_OUTCOMES: dict[str, tuple[type[DocumentError] | str, tuple[str, ...]]] = {
    "Política de privacidad – versión final (2).txt": ("parse", ("Política de privacidad",)),
    "corrupt-zip-member.docx": (CorruptDocument, ("corrupt DOCX", "damaged")),
    "empty.docx": (EmptyDocument, ("empty file",)),
    "empty.pdf": (EmptyDocument, ("empty file",)),
    "encrypted-aes256.pdf": (EncryptedDocument, ("encrypted", "password required")),
    "encrypted-user-password.pdf": (EncryptedDocument, ("encrypted", "password required")),
    "firmware.bin": (UnsupportedFileType, ("unsupported format", "binary data")),
    "huge-single-line.txt": ("parse", ("lorem",)),
    "meeting-notes.docx": ("parse", ("Meeting notes", "plain text saved with a .docx extension")),
    "memo-bad-startxref.pdf": ("parse", ("20,000 bottles of water",)),
    "password-protected.xlsx": (EncryptedDocument, ("encrypted", "password required")),
    "politica-teletrabajo-latin1.txt": ("parse", ("Política", "compañía", "télétravail", "Größe")),
    "quarterly-report.pdf": (UnsupportedFileType, ("not a PDF", "PNG image")),
    "setup.exe": (UnsupportedFileType, ("unsupported format", "executable")),
    "truncated-paper.pdf": (CorruptDocument, ("corrupt or truncated PDF",)),
    "umlauts-latin1.md": ("parse", ("können", "äöüß")),
    "whitespace-only.txt": (EmptyDocument, ("no text content",)),
    "xref-command-missing.pdf": ("parse", ("Reduced test-case",)),
}


def _manifest(folder) -> list[dict[str, str]]:
    with (folder / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _text(document: ParsedDocument) -> str:
    return "\n".join(element.text for element in document.elements)


# -- the shared documents -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row", [r for r in _manifest(DOCS) if r["file"] not in _TOO_SLOW_FOR_THE_SUITE], ids=lambda r: r["file"]
)
def test_shared_document_parses_with_text(row, parsed_documents):
    document = parsed_documents(DOCS / row["file"])

    assert isinstance(document, ParsedDocument), document
    assert sum(len(e.text) for e in document.elements) > 0
    assert document.name == row["file"]
    assert document.title


@pytest.mark.parametrize(
    "row", [r for r in _manifest(DOCS) if r["format"] == "pdf"], ids=lambda r: r["file"]
)
def test_pdf_elements_carry_page_numbers(row, parsed_documents):
    document = parsed_documents(DOCS / row["file"])

    assert document.pages == int(row["pages"])
    assert all(e.page is not None and 1 <= e.page <= document.pages for e in document.elements)


@pytest.mark.parametrize(
    "row",
    [
        r for r in _manifest(DOCS)
        if set(r["language"].split("+")) & _LANGUAGES_WE_CHECK and r["file"] not in _TOO_SLOW_FOR_THE_SUITE
    ],
    ids=lambda r: r["file"],
)
def test_language_is_detected_as_iso_639_1(row, parsed_documents):
    document = parsed_documents(DOCS / row["file"])
    letters = sum(ch.isalpha() for ch in _text(document))

    if letters < 100:  # too little text to judge: no language beats a wrong one
        assert document.language is None
    else:
        assert document.language in row["language"].split("+")


def test_language_of_a_tiny_text_is_left_unknown(parsed_documents):
    assert parsed_documents(BAD / "umlauts-latin1.md").language is None


def test_opening_of_a_long_book_parses(tmp_path):
    opening = tmp_path / "war-and-peace-opening.txt"
    opening.write_bytes((DOCS / "war-and-peace-tolstoy.txt").read_bytes()[:60_000])

    document = parse_file(str(opening))

    assert "family estates of the Buonapartes" in _text(document)  # hard-wrapped lines joined into paragraphs
    assert document.title == "CHAPTER I"
    assert document.language == "en"


def test_docx_headings_keep_their_levels(parsed_documents):
    document = parsed_documents(DOCS / "moby-dick-opening.docx")
    titles = [(e.text, e.level) for e in document.elements if e.category == "Title"]

    assert titles == [("A Heading 1", 0), ("A Heading 2", 1), ("Another Heading 1", 0)]
    assert document.title == "A Heading 1"


def test_markdown_headings_keep_their_levels(parsed_documents):
    document = parsed_documents(DOCS / "bdsg-2018-bundesdatenschutzgesetz-de.md")

    assert {e.level for e in document.elements if e.category == "Title"} >= {0, 1, 2, 3}


def test_tables_become_rows_of_cells(parsed_documents):
    document = parsed_documents(DOCS / "tables-merged-and-nested.docx")
    tables = [e.text for e in document.elements if e.category == "Table"]

    assert "| Header Col 1 | Header Col 2 |\n| Lorem ipsum | A link example |" in tables


def test_table_html_with_nested_table_flattens_into_its_cell():
    html = "<table><tr><th>a</th><td>b<table><tr><td>x</td></tr></table></td></tr><tr><td>c</td><td>d</td></tr></table>"

    assert table_to_text(html) == "| a | bx |\n| c | d |"


def test_slides_are_numbered_as_pages(parsed_documents):
    document = parsed_documents(DOCS / "sample-presentation.pptx")

    assert document.pages == 4
    assert document.title == "Title Slide"


def test_email_title_is_its_subject(parsed_documents):
    assert parsed_documents(DOCS / "family-day.eml").title == "Family Day"


def test_pdf_whose_page_tree_pdfminer_cannot_follow_is_read_after_repair(parsed_documents):
    document = parsed_documents(DOCS / "irs-form-1040-prefilled.pdf")

    assert "Individual Income Tax Return" in _text(document)
    assert {e.page for e in document.elements} == {1, 2}


def test_image_only_pdf_is_read_by_ocr_when_tesseract_is_installed(parsed_documents):
    if not parsing.tesseract_available():
        pytest.skip("tesseract-ocr is not installed")
    document = parsed_documents(DOCS / "scanned-loremipsum-image-only.pdf")

    assert "Lorem ipsum dolor sit amet" in _text(document)


def test_image_file_is_read_by_ocr_when_tesseract_is_installed(tmp_path):
    if not parsing.tesseract_available():
        pytest.skip("tesseract-ocr is not installed")
    image = tmp_path / "memo.png"
    shutil.copy(BAD / "quarterly-report.pdf", image)  # a PNG rendering of the memo, named for what it is

    assert "10,000 blankets" in _text(parse_file(str(image)))


def test_image_only_pdf_without_ocr_says_what_to_install(monkeypatch):
    monkeypatch.setattr(parsing, "tesseract_available", lambda: False)  # inject the fault: no tesseract

    with pytest.raises(MissingSystemTool, match="image-only PDF, OCR not available: install tesseract-ocr"):
        parse_file(str(DOCS / "scanned-loremipsum-image-only.pdf"))


def test_legacy_word_file_without_libreoffice_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(parsing.shutil, "which", lambda name: None)  # inject the fault: no soffice
    monkeypatch.setattr(parsing, "detect_file_type", lambda path: parsing.FileType("doc", "a Word 97-2003 document"))
    legacy = tmp_path / "old.doc"
    legacy.write_bytes(b"stand-in")

    with pytest.raises(MissingSystemTool, match="install libreoffice-core"):
        parse_file(str(legacy))


def test_library_failure_becomes_a_document_error(tmp_path):
    broken = tmp_path / "broken.pptx"
    shutil.copy(DOCS / "sample-presentation.pptx", broken)
    data = bytearray(broken.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 4000] = bytes(4000)  # zero a stretch of the compressed slides
    broken.write_bytes(bytes(data))

    with pytest.raises(CorruptDocument, match="PPTX"):
        parse_file(str(broken))


# -- the bad files ----------------------------------------------------------------------------------------------


def test_every_bad_file_has_an_expected_outcome():
    assert {row["file"] for row in _manifest(BAD)} == set(BAD_OUTCOMES)


@pytest.mark.parametrize("row", _manifest(BAD), ids=lambda r: r["file"])
def test_bad_file_gets_its_outcome(row, parsed_documents):
    expected, words = BAD_OUTCOMES[row["file"]]

    result = parsed_documents(BAD / row["file"])

    if expected == "parse":
        assert isinstance(result, ParsedDocument), f"{row['expected']}: got {result!r}"
        text = _text(result)
        assert all(word in text for word in words), text[:500]
        assert "\ufffd" not in text
    else:
        assert type(result) is expected, f"{row['expected']}: got {result!r}"
        assert all(word in str(result) for word in words), str(result)


def test_non_ascii_file_name_is_kept_exactly(parsed_documents):
    name = "Política de privacidad – versión final (2).txt"

    document = parsed_documents(BAD / name)

    assert document.name == name
    assert document.path == str(BAD / name)


def test_file_without_a_title_is_named_by_its_stem(parsed_documents):
    assert parsed_documents(BAD / "meeting-notes.docx").title == "meeting-notes"
