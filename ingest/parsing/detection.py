"""Tell what a file really is from its bytes, not its name, and refuse early, with a plain reason, what cannot be
parsed: empty, encrypted, mislabelled, executable or binary files. Also decodes text files whatever their encoding."""

from __future__ import annotations

import codecs
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from ingest.errors import CorruptDocument, EmptyDocument, EncryptedDocument, UnsupportedFileType

_HEAD_BYTES = 64 * 1024

# What the name claims. Kinds are the parsers in ingest.parsing.partitioning.
_EXTENSION_KINDS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".doc": "doc",
    ".pptx": "pptx",
    ".ppt": "ppt",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".odt": "odt",
    ".epub": "epub",
    ".rtf": "rtf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".log": "txt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".eml": "eml",
    ".msg": "msg",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}
# Kinds whose content is plain text: the bytes cannot tell them apart, so the extension decides.
TEXT_KINDS = frozenset({"txt", "md", "csv", "tsv", "html", "eml"})

# Each kind as people name it, for messages.
KIND_NAMES = {
    "pdf": "PDF", "docx": "DOCX", "doc": "DOC", "pptx": "PPTX", "ppt": "PPT", "xlsx": "XLSX", "xls": "XLS",
    "odt": "ODT", "epub": "EPUB", "rtf": "RTF", "html": "HTML file", "md": "Markdown file", "txt": "text file",
    "csv": "CSV file", "tsv": "TSV file", "eml": "e-mail", "msg": "Outlook message", "image": "image",
}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)
_OTHER_SIGNATURES = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_EXECUTABLE_SIGNATURES = (
    (b"MZ", "Windows/DOS program"),
    (b"\x7fELF", "Linux/Unix program"),
    (b"\xfe\xed\xfa\xce", "macOS program"),
    (b"\xfe\xed\xfa\xcf", "macOS program"),
    (b"\xce\xfa\xed\xfe", "macOS program"),
    (b"\xcf\xfa\xed\xfe", "macOS program"),
    (b"\xca\xfe\xba\xbe", "macOS or Java program"),
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Legacy Western encodings decode the same bytes to text that scores alike (cp1250 turns "ñ" into "ń");
# for the languages we serve, cp1252 is the one people's files are really in.
_PREFERRED_LEGACY = ("cp1252", "latin_1", "iso8859_15")


@dataclass(frozen=True)
class FileType:
    """What the content of a file is, as far as parsing needs to know."""

    kind: str  # a key of ingest.parsing.partitioning's partitioners: pdf, docx, txt, ...
    description: str  # in words, for messages: "a PDF document"
    pages: int | None = None  # known for PDFs (from the page tree)


def detect_file_type(path: str) -> FileType:
    """Sniff the file's real type and check it can be read; raise a DocumentError saying why not."""
    size = os.path.getsize(path)
    if size == 0:
        raise EmptyDocument("empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    claimed = _EXTENSION_KINDS.get(Path(path).suffix.lower())
    content, description = _sniff(path, head)
    if content == "text":
        if len(head) == size and not head.strip():
            raise EmptyDocument("no text content: the file holds only whitespace")
        if claimed in TEXT_KINDS:
            return FileType(claimed, description)
        # Text saved under a document's name (notes typed into "x.docx"): read it as what it really is.
        return FileType("html" if _looks_like_html(head) else "txt", description)
    if content == "executable":
        raise UnsupportedFileType(f"unsupported format: executable ({description}); only documents can be ingested")
    if content == "binary" and claimed is None:
        raise UnsupportedFileType(f"unsupported format: {description}; only documents can be ingested")
    if claimed is not None and claimed != content:
        raise UnsupportedFileType(
            f"not a {KIND_NAMES[claimed]}: the content is {description}; "
            "save or export it again in the format its name says"
        )
    pages = check_pdf(path) if content == "pdf" else None
    return FileType(content, description, pages)


def check_pdf(path: str) -> int:
    """Open the PDF's structure; return its page count, or raise for encrypted or unreadable files."""
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    except pikepdf.PasswordError as exc:
        raise EncryptedDocument(
            "encrypted: password required to open this PDF; remove the password and ingest it again"
        ) from exc
    except pikepdf.PdfError as exc:
        raise CorruptDocument(
            "corrupt or truncated PDF: its structure cannot be read (the file may be incomplete); "
            "download or export it again"
        ) from exc


def _sniff(path: str, head: bytes) -> tuple[str, str]:
    """Return (content kind, description). Kind is a parser kind, or text / executable / binary."""
    if b"%PDF-" in head[:1024]:  # some producers put junk before the header; readers accept it
        return "pdf", "a PDF document"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(path)
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(path)
    if head.startswith(b"{\\rtf"):
        return "rtf", "an RTF document"
    for signature, description in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return "image", description
    for signature, description in _EXECUTABLE_SIGNATURES:
        if head.startswith(signature):
            return "executable", description
    for signature, description in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return "binary", description
    if _looks_like_text(head):
        return "text", "plain text"
    return "binary", _describe_binary(head)


def _sniff_zip(path: str) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
    except (zipfile.BadZipFile, zlib.error, OSError, KeyError, RuntimeError) as exc:
        raise CorruptDocument(
            "corrupt file: its ZIP container (used by DOCX, PPTX, XLSX, ODT, EPUB) is damaged; export it again"
        ) from exc
    if "word/document.xml" in names:
        return "docx", "a Word document (DOCX)"
    if "ppt/presentation.xml" in names:
        return "pptx", "a PowerPoint presentation (PPTX)"
    if "xl/workbook.xml" in names:
        return "xlsx", "an Excel workbook (XLSX)"
    if mimetype == "application/vnd.oasis.opendocument.text":
        return "odt", "an OpenDocument text (ODT)"
    if mimetype == "application/epub+zip":
        return "epub", "an EPUB e-book"
    return "binary", "a ZIP archive"


def _sniff_ole(path: str) -> tuple[str, str]:
    """OLE compound files hold legacy Office documents, Outlook messages and password-protected Office files."""
    import olefile

    try:
        with olefile.OleFileIO(path) as ole:
            streams = {"/".join(entry) for entry in ole.listdir()}
    except OSError as exc:
        raise CorruptDocument("corrupt Office file: its OLE container cannot be read; export it again") from exc
    if {"EncryptionInfo", "EncryptedPackage"} <= streams:
        # Office keeps a password-protected DOCX/XLSX/PPTX as an encrypted package inside an OLE file.
        raise EncryptedDocument(
            "encrypted: password required (a password-protected Office file); "
            "remove the password in Office and ingest it again"
        )
    if any(name.startswith("__substg1.0_") for name in streams):
        return "msg", "an Outlook message"
    for stream, kind, description in (
        ("WordDocument", "doc", "a Word 97-2003 document (DOC)"),
        ("Workbook", "xls", "an Excel 97-2003 workbook (XLS)"),
        ("Book", "xls", "an Excel 95 workbook (XLS)"),
        ("PowerPoint Document", "ppt", "a PowerPoint 97-2003 presentation (PPT)"),
    ):
        if stream in streams:
            _refuse_encrypted_legacy_office(path)
            return kind, description
    return "binary", "an OLE compound file"


def _refuse_encrypted_legacy_office(path: str) -> None:
    import msoffcrypto
    from msoffcrypto.exceptions import FileFormatError

    with open(path, "rb") as fh:
        try:
            encrypted = msoffcrypto.OfficeFile(fh).is_encrypted()
        except (FileFormatError, OSError, ValueError):
            return  # not a layout msoffcrypto knows; the parser will judge it
    if encrypted:
        raise EncryptedDocument(
            "encrypted: password required (a password-protected Office file); "
            "remove the password in Office and ingest it again"
        )


def _looks_like_text(head: bytes) -> bool:
    if head.startswith(tuple(bom for bom, _ in _BOMS)):
        return True
    if b"\x00" in head:
        return False
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 27))
    if controls > len(head) // 100:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return True
    except UnicodeDecodeError:
        return charset_normalizer.from_bytes(head).best() is not None


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:200].lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _describe_binary(head: bytes) -> str:
    """Name the content for the message, using libmagic when it knows better than 'data'."""
    try:
        import magic

        description = magic.from_buffer(head)
    except (ImportError, OSError):  # libmagic1 missing: the generic words still tell the user enough
        return "binary data"
    if not description or description == "data":
        return "binary data"
    return f"binary data ({description.split(',')[0]})"


def decode_text(data: bytes) -> str:
    """Decode a text file's bytes: BOM, then UTF-8, then the most plausible legacy encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise UnsupportedFileType("unsupported format: the text encoding cannot be recognised; save it as UTF-8")
    for match in matches:
        if match.encoding in _PREFERRED_LEGACY and match.chaos <= best.chaos + 0.01:
            return str(match)
    return str(best)


def read_text(path: str) -> str:
    """The text of a text file, decoded whatever its encoding."""
    return decode_text(Path(path).read_bytes())
