"""ingest.parsing.partitioning: every shared document parses offline with its structure; every bad file gets its
named outcome."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest
from shared_data import BAD, DOCS

from ingest.errors import (
    CorruptDocument,
    DocumentError,
    EmptyDocument,
    EncryptedDocument,
    MissingSystemTool,
    UnsupportedFileType,
)
from ingest.models import ParsedDocument
from ingest.parsing import partitioning
from ingest.parsing.elements import table_to_text
from ingest.parsing.partitioning import parse_file

pytestmark = pytest.mark.usefixtures("parsers")  # as the parse workers parse

# War and Peace takes ~80 s through unstructured's per-paragraph classifier; its opening is parsed instead.
_TOO_SLOW_FOR_THE_SUITE = {"war-and-peace-tolstoy.txt"}
_LANGUAGES_WE_CHECK = {"en", "es", "de", "fr"}
_TABULAR_FORMATS = {"xlsx", "csv"}  # names and figures: the language can be undecidable, but never wrong

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
    elif row["format"] in _TABULAR_FORMATS:
        assert document.language in [*row["language"].split("+"), None]
    else:
        assert document.language in row["language"].split("+")


def test_language_of_a_tiny_text_is_left_unknown(parsed_documents):
    assert parsed_documents(BAD / "umlauts-latin1.md").language is None


@pytest.mark.parametrize("name", ["email-english-spanish.eml", "outlook-cc-bcc.msg", "udhr-english-spanish.docx",
                                  "udhr-english-spanish.html", "unstructured-readme.md", "semicolon-delimited.csv"])
def test_unstructured_runs_no_language_pass_of_its_own(name, monkeypatch):
    from unstructured.partition.common import lang

    def refuse(*args, **kwargs):
        raise AssertionError("unstructured's langdetect pass ran: Enclave detects the language once, itself")

    monkeypatch.setattr(lang, "detect_languages", refuse)
    assert parse_file(str(DOCS / name)).elements


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
    if not partitioning.tesseract_available():
        pytest.skip("tesseract-ocr is not installed")
    document = parsed_documents(DOCS / "scanned-loremipsum-image-only.pdf")

    assert "Lorem ipsum dolor sit amet" in _text(document)


def test_image_file_is_read_by_ocr_when_tesseract_is_installed(tmp_path):
    if not partitioning.tesseract_available():
        pytest.skip("tesseract-ocr is not installed")
    image = tmp_path / "memo.png"
    shutil.copy(BAD / "quarterly-report.pdf", image)  # a PNG rendering of the memo, named for what it is

    assert "10,000 blankets" in _text(parse_file(str(image)))


def test_image_only_pdf_without_ocr_says_what_to_install(monkeypatch):
    monkeypatch.setattr(partitioning, "tesseract_available", lambda: False)  # inject the fault: no tesseract

    with pytest.raises(MissingSystemTool, match="image-only PDF, OCR not available: install tesseract-ocr"):
        parse_file(str(DOCS / "scanned-loremipsum-image-only.pdf"))


def test_legacy_word_file_without_libreoffice_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(partitioning.shutil, "which", lambda name: None)  # inject the fault: no soffice
    legacy_word = partitioning.FileType("doc", "a Word 97-2003 document")
    monkeypatch.setattr(partitioning, "detect_file_type", lambda path: legacy_word)
    legacy = tmp_path / "old.doc"
    legacy.write_bytes(b"stand-in")

    with pytest.raises(MissingSystemTool, match="install libreoffice-writer-nogui"):
        parse_file(str(legacy))


@pytest.mark.parametrize(("source", "legacy", "expected"), [
    ("moby-dick-opening.docx", "doc", "Call me Ishmael"),
    ("sample-presentation.pptx", "ppt", "With a subtitle"),
])
def test_legacy_office_files_are_read_through_libreoffice(tmp_path, source, legacy, expected):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed (make setup installs it where apt is available)")
    # Make the legacy file from a shared modern one with LibreOffice itself: a real .doc / .ppt, not a renamed file.
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    legacy, "--outdir", str(tmp_path), str(DOCS / source)], check=True, capture_output=True, timeout=120)
    path = tmp_path / (Path(source).stem + "." + legacy)

    document = parse_file(str(path))

    assert expected in _text(document)


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


# -- e-mail attachments -----------------------------------------------------------------------------------------


def _write_email(path, body: str, attachments=(), *, subject: str = "Quarterly supplies"):
    """A real .eml written with the stdlib: a text body and attachments given as (name, bytes, MIME type), or
    as EmailMessage objects (attached as message/rfc822, like a forwarded message)."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "ana@example.com"
    message["To"] = "operations@example.com"
    message.set_content(body)
    for attachment in attachments:
        if isinstance(attachment, EmailMessage):
            message.add_attachment(attachment)
        else:
            name, data, mime_type = attachment
            maintype, subtype = mime_type.split("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if path is not None:
        path.write_bytes(bytes(message))
    return message


def _sections_of(document: ParsedDocument, chunking_options, text: str) -> list[tuple[str, ...]]:
    from ingest.parsing.chunking import chunk_document

    return [chunk.section for chunk in chunk_document(document, chunking_options) if text in chunk.text]


@pytest.mark.parametrize("name", ["email-with-attachment.eml", "outlook-with-attachment.msg"])
def test_email_attachment_is_parsed_under_its_own_section(name, parsed_documents, chunking_options):
    document = parsed_documents(DOCS / name)

    assert document.title == "Fake email with attachment"
    assert _text(document).index("Here's the attachments!") < _text(document).index("Hey this is a fake attachment!")
    assert _sections_of(document, chunking_options, "Hey this is a fake attachment!") == [
        ("Attachment: fake-attachment.txt",)
    ]
    assert document.warnings == ()


def test_image_attachment_is_read_by_ocr_when_tesseract_is_installed(tmp_path, chunking_options):
    if not partitioning.tesseract_available():
        pytest.skip("tesseract-ocr is not installed")
    mail = tmp_path / "memo.eml"
    memo_png = (BAD / "quarterly-report.pdf").read_bytes()  # a PNG rendering of the memo
    _write_email(mail, "The memo is attached.", [("memo.png", memo_png, "image/png")])

    document = parse_file(str(mail))

    (section,) = _sections_of(document, chunking_options, "10,000 blankets")
    assert section[0] == "Attachment: memo.png"  # the memo's own headings, if any, come below it


def test_image_attachment_without_ocr_is_reported_and_the_body_kept(monkeypatch):
    monkeypatch.setattr(partitioning, "tesseract_available", lambda: False)  # inject the fault: no tesseract

    document = parse_file(str(DOCS / "email-with-image.eml"))

    assert "The unstructured logo is attached to this email." in _text(document)
    assert document.warnings == (
        "attachment 'unstructured_logo.png' skipped: image file, OCR not available: install tesseract-ocr (apt) "
        "and ingest it again",
    )


def test_broken_attachments_are_reported_and_the_body_and_other_attachments_kept(tmp_path):
    mail = tmp_path / "supplies.eml"
    _write_email(mail, "The warehouse received 500 chairs this week.", [
        ("paper.pdf", (BAD / "truncated-paper.pdf").read_bytes(), "application/pdf"),
        ("firmware.bin", (BAD / "firmware.bin").read_bytes(), "application/octet-stream"),
        ("placement.txt", b"The chairs go to the second floor.", "text/plain"),
    ])

    document = parse_file(str(mail))

    assert "500 chairs" in _text(document) and "second floor" in _text(document)
    paper, firmware = document.warnings
    assert paper.startswith("attachment 'paper.pdf' skipped: corrupt or truncated PDF"), paper
    assert firmware.startswith("attachment 'firmware.bin' skipped: unsupported format"), firmware


def test_email_attached_to_an_attached_email_is_reported_not_read(tmp_path):
    innermost = _write_email(None, "The innermost message.", subject="Innermost")
    forwarded = _write_email(None, "The forwarded message.", [innermost], subject="Forwarded")
    mail = tmp_path / "outer.eml"
    _write_email(mail, "The outer message.", [forwarded])

    document = parse_file(str(mail))

    text = _text(document)
    assert "The outer message." in text and "The forwarded message." in text
    assert "The innermost message." not in text
    assert "Attachment: Forwarded.eml" in text
    (warning,) = document.warnings
    assert warning.startswith("in attachment 'Forwarded.eml': attachment 'Innermost.eml' skipped: an e-mail "
                              "attached to an attached e-mail is not read"), warning


def test_attachment_over_the_size_limit_is_reported_not_read():
    document = parse_file(str(DOCS / "email-with-attachment.eml"), max_attachment_bytes=10)

    assert "Hey this is a fake attachment!" not in _text(document)
    (warning,) = document.warnings
    assert warning.startswith("attachment 'fake-attachment.txt' skipped:") and "size limit" in warning, warning


def test_attachment_name_with_a_path_is_saved_and_shown_by_its_base_name(tmp_path):
    mail = tmp_path / "sneaky.eml"
    _write_email(mail, "See the notes.", [("..\\..\\outside/notes\u202e.txt", b"Notes about the audit.", "text/plain")])

    document = parse_file(str(mail))

    assert "Attachment: notes.txt" in _text(document)
    assert "Notes about the audit." in _text(document)
    assert not (tmp_path.parent / "outside").exists()
