"""One page of a PDF as a PNG, so a citation can show the page its passage came from."""

from __future__ import annotations

import functools
import io
import threading
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from ui.errors import UIError

MAX_WIDTH = 4000  # pixels: a page this wide is ~60 MB of raw bitmap; more is a mistake, not a request
CACHED_PAGES = 32  # ~0.3 MB of PNG each at the default width; a page costs 0.1–0.5 s to render again

# PDFium is not thread-safe, not even across documents, and Streamlit runs every session in its own thread.
# (Ingestion's own use of PDFium is in the parse worker processes.)
_PDFIUM = threading.Lock()


class PageImageError(UIError):
    """A page cannot be shown: the file is not a PDF, is encrypted or damaged, or has no such page."""


def render_pdf_page(path: Path, page: int, width: int = 900) -> bytes:
    """PNG bytes of page `page` (counted from 1) of the PDF at `path`, scaled to `width` pixels wide.

    Raises PageImageError, saying what to do instead, for a file that is not a PDF, an encrypted or damaged one,
    or a page it does not have; ValueError for a width outside 1..MAX_WIDTH."""
    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"width must be 1 to {MAX_WIDTH} pixels, got {width}")
    if page < 1:
        raise PageImageError(f"there is no page {page} in {path.name}: pages are numbered from 1")
    try:
        stat = path.stat()
    except OSError as exc:
        raise PageImageError(f"cannot read {path.name}: {exc.strerror or exc}; upload it again") from exc
    return _render(str(path), stat.st_mtime_ns, stat.st_size, page, width)


@functools.lru_cache(maxsize=CACHED_PAGES)
def _render(path: str, mtime_ns: int, size: int, page: int, width: int) -> bytes:
    """mtime_ns and size are in the cache key only: a file replaced under the same name renders afresh.
    Errors are not cached, so a file repaired in place can be shown on the next try."""
    name = Path(path).name
    _check_is_pdf(path, name)
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(path)
        except pypdfium2.PdfiumError as exc:
            raise PageImageError(_load_failure(name, exc)) from exc
        try:
            return _render_page(document, name, page, width)
        except pypdfium2.PdfiumError as exc:
            raise PageImageError(f"page {page} of {name} cannot be drawn ({exc}); open the file itself") from exc
        finally:
            document.close()


def _render_page(document: pypdfium2.PdfDocument, name: str, page: int, width: int) -> bytes:
    count = len(document)
    if page > count:
        pages = "1 page" if count == 1 else f"{count} pages"
        raise PageImageError(f"there is no page {page} in {name}: it has {pages}")
    # Before any page is loaded: without it the values of a filled-in form (names, ticks) are not drawn.
    document.init_forms()
    pdf_page = document[page - 1]
    try:
        # The page's width already counts its own rotation. PDFium rounds the bitmap up, so aim a hair under.
        bitmap = pdf_page.render(scale=(width - 1e-6) / pdf_page.get_width())
        try:
            image = bitmap.to_pil()  # a view of the bitmap's memory: encode before the bitmap is closed
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return buffer.getvalue()
        finally:
            bitmap.close()
    finally:
        pdf_page.close()


def _check_is_pdf(path: str, name: str) -> None:
    """PDFium only says "data format error" for a Word file or a PNG: tell them apart from a damaged PDF first.
    Readers accept the %PDF- header anywhere in the first 1024 bytes, and so does this."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise PageImageError(f"cannot read {name}: {exc.strerror or exc}; upload it again") from exc
    if b"%PDF-" not in head:
        what = "is empty" if not head else "is not a PDF"
        raise PageImageError(f"{name} {what}, so it has no pages to show: open the file itself instead")


def _load_failure(name: str, exc: pypdfium2.PdfiumError) -> str:
    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return f"{name} is password-protected, so its pages cannot be shown: open the file itself with its password"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return (f"{name} uses an encryption this viewer does not support, so its pages cannot be shown: "
                "open the file itself")
    return (f"{name} is damaged or truncated, so its pages cannot be shown: open the file itself, or upload a "
            "repaired copy (export it to PDF again)")
