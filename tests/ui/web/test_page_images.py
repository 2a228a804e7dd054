"""A cited PDF page rendered as a PNG, from the real shared files; bad files get an error that says what to do."""

from __future__ import annotations

import io
import shutil

import pikepdf
import pytest
from PIL import Image

from shared_data import BAD, DOCS
from ui.errors import UIError
from ui.web.page_images import PageImageError, render_pdf_page

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MEMO = DOCS / "memo-supply-delivery.pdf"  # one page, US Letter
FORM = DOCS / "irs-form-1040-prefilled.pdf"  # two pages, AcroForm fields filled in (page 2: "foobar", a tick)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_a_page_is_a_png_of_the_asked_width_with_the_page_proportions():
    width, height = png_size(render_pdf_page(MEMO, 1))
    assert width == 900
    assert height == pytest.approx(900 * 792 / 612, abs=1)


def test_the_second_page_of_a_two_page_pdf_is_rendered():
    assert png_size(render_pdf_page(FORM, 2, width=600))[0] == 600


def test_the_values_of_a_filled_in_form_are_drawn():
    # The form's page 2 is printed in black and grey; only the filled-in values ("foobar", a tick) are blue.
    image = Image.open(io.BytesIO(render_pdf_page(FORM, 2))).convert("RGB")
    pixels = image.tobytes()
    blue = sum(1 for i in range(0, len(pixels), 3) if pixels[i + 2] - pixels[i] > 60)
    assert blue > 50


def test_a_rotated_page_is_drawn_upright_at_the_asked_width(tmp_path):
    rotated = tmp_path / "rotated.pdf"
    with pikepdf.open(MEMO) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(rotated)
    width, height = png_size(render_pdf_page(rotated, 1))
    assert (width, height < width) == (900, True)


def test_a_page_asked_again_comes_from_the_cache():
    assert render_pdf_page(MEMO, 1, width=300) is render_pdf_page(MEMO, 1, width=300)


def test_a_file_replaced_under_the_same_name_is_rendered_afresh(tmp_path):
    path = tmp_path / "report.pdf"
    shutil.copy(MEMO, path)
    before = render_pdf_page(path, 1, width=300)
    shutil.copy(FORM, path)
    assert render_pdf_page(path, 1, width=300) != before


@pytest.mark.parametrize(("page", "expected"), [(0, "pages are numbered from 1"), (99, "it has 1 page")])
def test_a_page_the_pdf_does_not_have_is_refused_by_number(page, expected):
    with pytest.raises(PageImageError, match=f"no page {page} in memo-supply-delivery.pdf: {expected}"):
        render_pdf_page(MEMO, page)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (DOCS / "moby-dick-opening.docx", "moby-dick-opening.docx is not a PDF, so it has no pages to show"),
        (BAD / "quarterly-report.pdf", "quarterly-report.pdf is not a PDF"),  # a PNG named .pdf
        (BAD / "empty.pdf", "empty.pdf is empty"),
        (BAD / "encrypted-aes256.pdf", "encrypted-aes256.pdf is password-protected"),
        (BAD / "encrypted-user-password.pdf", "encrypted-user-password.pdf is password-protected"),
        (BAD / "truncated-paper.pdf", "truncated-paper.pdf is damaged or truncated.*upload a repaired copy"),
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_a_file_without_pages_to_show_gets_a_clear_error(path, expected):
    with pytest.raises(PageImageError, match=expected) as caught:
        render_pdf_page(path, 1)
    assert isinstance(caught.value, UIError)
    assert "open the file itself" in str(caught.value)


def test_a_pdf_with_a_broken_startxref_is_repaired_and_shown():
    assert png_size(render_pdf_page(BAD / "memo-bad-startxref.pdf", 1))[0] == 900


def test_a_missing_file_is_reported_by_name(tmp_path):
    with pytest.raises(PageImageError, match="cannot read gone.pdf"):
        render_pdf_page(tmp_path / "gone.pdf", 1)


@pytest.mark.parametrize("width", [0, 100_000])
def test_a_width_out_of_bounds_is_a_programming_error(width):
    with pytest.raises(ValueError, match="width must be"):
        render_pdf_page(MEMO, 1, width=width)
