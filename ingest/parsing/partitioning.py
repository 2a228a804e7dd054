"""Turn one file into a ParsedDocument with unstructured's partitioners, fully offline: elements in reading order with
their category, page and heading level, plus the document's title, language and page count."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Sequence

from ingest.errors import CorruptDocument, DocumentError, MissingSystemTool
from ingest.models import Element, ParsedDocument
from ingest.parsing.detection import KIND_NAMES, FileType, detect_file_type, read_text
from ingest.parsing.elements import NO_LANGUAGE_DETECTION, choose_title, convert_elements, detect_language
from ingest.parsing.emails import EMAIL_KINDS, check_nesting, partition_email_body, read_attachments

# unstructured classifies each plain-text paragraph with a spaCy model; on a line of megabytes (a file with no line
# breaks) that costs tens of seconds and can only answer "narrative text", so such lines skip it.
_LONG_LINE_CHARS = 20_000
_OCR_DPI = 300  # below this Tesseract misreads small print
_OCR_LANGUAGES = ("eng", "spa", "deu", "fra", "ita", "por")  # used when their traineddata is installed
# Formats without heading markup, where unstructured guesses titles from how short a line is.
_GUESSED_TITLE_KINDS = frozenset({"pdf", "txt", "eml", "msg", "image"})

_ZIP_KINDS = frozenset({"docx", "pptx", "xlsx", "odt", "epub"})  # a missing part raises KeyError


def parse_file(path: str, *, max_attachment_bytes: int | None = None) -> ParsedDocument:
    """Parse the file at `path`; raise a DocumentError subclass, with a reason a person understands, if it cannot be.
    An e-mail's attachments are parsed too (larger than `max_attachment_bytes`: left out and reported)."""
    return _parse(path, 0, max_attachment_bytes)


def _parse(path: str, nesting: int, max_attachment_bytes: int | None) -> ParsedDocument:
    """`parse_file`, for a file attached `nesting` levels deep inside an e-mail (0: not an attachment)."""
    try:
        file_type = detect_file_type(path)
    except OSError as exc:
        raise DocumentError(f"cannot read the file: {exc.strerror or exc}") from exc
    except DocumentError:
        raise
    except Exception as exc:  # the boundary, for the container readers (zip, OLE, qpdf) used to sniff
        raise CorruptDocument(f"cannot tell what this file is (it may be damaged): {_short(exc)}") from exc
    if file_type.kind in EMAIL_KINDS:
        check_nesting(nesting)
    try:
        raw = _PARTITIONERS[file_type.kind](path, file_type)
    except DocumentError:
        raise
    except MemoryError as exc:
        raise DocumentError("not enough memory to parse this file; split it or parse it on a bigger machine") from exc
    except Exception as exc:  # the boundary: any library failure on this file becomes a DocumentError for it alone
        raise _wrap_library_error(exc, file_type) from exc
    elements = convert_elements(raw, guessed_titles=file_type.kind in _GUESSED_TITLE_KINDS)
    title = choose_title(raw, elements, Path(path).stem)  # before attachments: their headings are no title
    warnings: tuple[str, ...] = ()
    if file_type.kind in EMAIL_KINDS:
        parse_attachment = functools.partial(_parse, max_attachment_bytes=max_attachment_bytes)
        attached, warnings = read_attachments(
            path, file_type.kind, parse_attachment, nesting=nesting, max_bytes=max_attachment_bytes
        )
        elements = elements + attached
    pages = file_type.pages if file_type.pages is not None else _max_page(elements)
    return ParsedDocument(
        path=path,
        name=Path(path).name,
        title=title,
        elements=elements,
        language=detect_language([e.text for e in elements]),
        pages=pages,
        warnings=warnings,
    )


# -- partitioners, one per kind ---------------------------------------------------------------------------------


def _partition_pdf(path: str, file_type: FileType) -> list:
    page_count = file_type.pages or 0
    with tempfile.TemporaryDirectory(prefix="enclave-pdf-") as folder:
        source = path
        elements = _partition_pdf_text_layer(path, strict=False)
        if elements is None or not _text_length(elements):
            # pdfminer cannot follow some page trees that qpdf repairs (broken xref, odd object streams):
            # retry on a rewritten copy before deciding that the PDF has no text layer.
            source = os.path.join(folder, "repaired.pdf")
            _rewrite_pdf(path, source)
            elements = _partition_pdf_text_layer(source, strict=True) or []
        scanned = _pages_with_images(source, _pages_without_text(elements, page_count))
        if not scanned:
            return elements  # any page without text is blank: nothing to OCR
        if not tesseract_available():
            if not _text_length(elements):
                raise MissingSystemTool(
                    "image-only PDF, OCR not available: install tesseract-ocr (apt) and ingest it again"
                )
            return elements  # some scanned pages (a signed last page...) are lost; the text layer is kept
        ocr = _ocr_pdf_pages(source, scanned)
    return sorted(elements + ocr, key=lambda e: e.metadata.page_number or 0)


def _partition_pdf_text_layer(path: str, *, strict: bool) -> list | None:
    """The elements of the PDF's text layer; None (or, if strict, CorruptDocument) when pdfminer cannot read it."""
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSException
    from unstructured.partition.pdf import partition_pdf

    try:
        # For this partitioner `languages` only chooses OCR dictionaries; the text layer is read as it is.
        return partition_pdf(filename=path, strategy="fast", languages=["eng"], infer_table_structure=False)
    except (PDFSyntaxError, PSException) as exc:
        if strict:
            raise CorruptDocument("corrupt or truncated PDF: its text cannot be read; export it again") from exc
        return None


def _rewrite_pdf(path: str, target: str) -> None:
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            pdf.save(target)
    except pikepdf.PdfError as exc:
        raise CorruptDocument("corrupt or truncated PDF: it cannot be repaired; export it again") from exc


def _pages_with_images(path: str, page_numbers: Sequence[int]) -> list[int]:
    """Of these pages, those holding an image: scans to OCR. A page with no image and no text is blank."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    if not page_numbers:
        return []
    document = pypdfium2.PdfDocument(path)
    try:
        return [
            number
            for number in page_numbers
            if next(document[number - 1].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2), None)
        ]
    finally:
        document.close()


def _ocr_pdf_pages(path: str, page_numbers: Sequence[int]) -> list:
    import pypdfium2
    from unstructured.partition.image import partition_image

    elements: list = []
    document = pypdfium2.PdfDocument(path)
    try:
        for number in page_numbers:
            image = document[number - 1].render(scale=_OCR_DPI / 72).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            buffer.seek(0)
            elements.extend(
                partition_image(
                    file=buffer, strategy="ocr_only", languages=list(ocr_languages()), starting_page_number=number
                )
            )
    finally:
        document.close()
    return elements


def _partition_image(path: str, file_type: FileType) -> list:
    from unstructured.partition.image import partition_image

    if not tesseract_available():
        raise MissingSystemTool("image file, OCR not available: install tesseract-ocr (apt) and ingest it again")
    return partition_image(filename=path, strategy="ocr_only", languages=list(ocr_languages()))


def _partition_plain_text(path: str, file_type: FileType) -> list:
    from unstructured.documents.elements import NarrativeText

    from ingest.parsing.plain_text import partition_plain_text

    elements: list = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            elements.extend(partition_plain_text("\n".join(pending)))
            pending.clear()

    for line in read_text(path).split("\n"):
        if len(line) > _LONG_LINE_CHARS:
            flush()
            elements.append(NarrativeText(text=line.strip()))
        else:
            pending.append(line)
    flush()
    return elements


def _partition_markdown(path: str, file_type: FileType) -> list:
    from unstructured.partition.md import partition_md

    return partition_md(text=read_text(path), languages=NO_LANGUAGE_DETECTION)


def _partition_html(path: str, file_type: FileType) -> list:
    from unstructured.partition.html import partition_html

    return partition_html(text=read_text(path), languages=NO_LANGUAGE_DETECTION)


def _partition_delimited(path: str, file_type: FileType) -> list:
    from unstructured.partition.csv import partition_csv
    from unstructured.partition.tsv import partition_tsv

    partition = partition_tsv if file_type.kind == "tsv" else partition_csv
    # Decode ourselves (charset detection), hand pandas UTF-8.
    return partition(file=io.BytesIO(read_text(path).encode("utf-8")), encoding="utf-8", languages=NO_LANGUAGE_DETECTION)


def _partitioner(module: str, function: str, **options: Any) -> Callable[[str, FileType], list]:
    def partition(path: str, file_type: FileType) -> list:
        import importlib

        return getattr(importlib.import_module(module), function)(filename=path, languages=NO_LANGUAGE_DETECTION, **options)

    return partition


def _needs_libreoffice(inner: Callable[[str, FileType], list]) -> Callable[[str, FileType], list]:
    def partition(path: str, file_type: FileType) -> list:
        if shutil.which("soffice") is None:
            name = KIND_NAMES[file_type.kind]
            package = "libreoffice-impress-nogui" if file_type.kind == "ppt" else "libreoffice-writer-nogui"
            raise MissingSystemTool(
                f"reading {name} files needs LibreOffice: install {package} (apt; `make setup` does where it can), "
                f"or save the file in the newer format ({name}X)"
            )
        return inner(path, file_type)

    return partition


_PARTITIONERS: dict[str, Callable[[str, FileType], list]] = {
    "pdf": _partition_pdf,
    "docx": _partitioner("unstructured.partition.docx", "partition_docx", include_page_breaks=False),
    "doc": _needs_libreoffice(_partitioner("unstructured.partition.doc", "partition_doc", include_page_breaks=False)),
    "pptx": _partitioner("unstructured.partition.pptx", "partition_pptx", include_page_breaks=False),
    "ppt": _needs_libreoffice(_partitioner("unstructured.partition.ppt", "partition_ppt", include_page_breaks=False)),
    "xlsx": _partitioner("unstructured.partition.xlsx", "partition_xlsx"),
    "xls": _partitioner("unstructured.partition.xlsx", "partition_xlsx"),
    "odt": _partitioner("unstructured.partition.odt", "partition_odt"),
    "epub": _partitioner("unstructured.partition.epub", "partition_epub"),
    "rtf": _partitioner("unstructured.partition.rtf", "partition_rtf"),
    "html": _partition_html,
    "md": _partition_markdown,
    "txt": _partition_plain_text,
    "csv": _partition_delimited,
    "tsv": _partition_delimited,
    "eml": partition_email_body,
    "msg": partition_email_body,
    "image": _partition_image,
}


# -- OCR availability ---------------------------------------------------------------------------------------------


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None and bool(ocr_languages())


@functools.lru_cache(maxsize=1)
def ocr_languages() -> tuple[str, ...]:
    """The Tesseract languages to read with: ours that are installed (each apt tesseract-ocr-LANG adds one)."""
    if shutil.which("tesseract") is None:
        return ()
    try:
        listing = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    installed = set(listing.split())
    return tuple(code for code in _OCR_LANGUAGES if code in installed)


# -- helpers ------------------------------------------------------------------------------------------------------


def _wrap_library_error(exc: Exception, file_type: FileType) -> DocumentError:
    name = KIND_NAMES.get(file_type.kind, file_type.kind.upper())
    missing_part = isinstance(exc, KeyError) and file_type.kind in _ZIP_KINDS
    if isinstance(exc, (zlib.error, zipfile.BadZipFile)) or missing_part:
        return CorruptDocument(
            f"corrupt {name}: a part inside the file is damaged (bad zip member or CRC error); export it again"
        )
    if file_type.kind == "pdf":
        return CorruptDocument(f"corrupt or truncated PDF: {_short(exc)}; export it again")
    return CorruptDocument(f"cannot read this {name} (the file may be damaged): {_short(exc)}")


def _short(exc: Exception) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message if len(message) <= 200 else message[:197] + "..."


def _pages_without_text(elements: Sequence[Any], page_count: int) -> list[int]:
    with_text = {e.metadata.page_number for e in elements if (e.text or "").strip()}
    return [page for page in range(1, page_count + 1) if page not in with_text]


def _text_length(elements: Sequence[Any]) -> int:
    return sum(len((e.text or "").strip()) for e in elements)


def _max_page(elements: Sequence[Element]) -> int | None:
    pages = [e.page for e in elements if e.page is not None]
    return max(pages) if pages else None
