"""bench/peer_rules.py: the rules bench/peers.py judges each system's extracted text by, on real files' text."""

import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.shared_data import DOCS

sys.path.append(str(Path(__file__).resolve().parents[1] / "bench"))  # after the project: bench/ingest.py is not `ingest`
from peer_rules import judge_text  # noqa: E402


def read_as_text(name: str) -> str:
    """A file's bytes read as text, as llama-index's SimpleDirectoryReader reads a format it has no reader for."""
    return (DOCS / name).read_bytes().decode("utf-8", errors="ignore")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(name: str) -> str:
    parser = _Text()
    parser.feed(read_as_text(name))
    return "".join(parser.parts)


@pytest.mark.parametrize("text", ["", "   \n\t ", "Page 1 of 1", "\x0c\x0c\x0c"])
def test_text_under_twenty_visible_characters_is_empty(text):
    assert judge_text(text) == "empty"


@pytest.mark.parametrize("name", ["outlook-cc-bcc.msg", "simple-with-table.odt", "udhr-english-spanish.docx"])
def test_container_bytes_read_as_text_are_binary(name):
    assert judge_text(read_as_text(name)) == "binary"


def test_an_e_mail_read_raw_with_its_base64_image_is_binary():
    assert judge_text(read_as_text("email-with-image.eml")) == "binary"


def test_raw_rtf_is_markup():
    assert judge_text(read_as_text("udhr-english-spanish.rtf")) == "markup"


def test_raw_html_of_a_filing_is_markup_and_its_text_is_ok():
    assert judge_text(read_as_text("sec-10k-galaxy-gaming-excerpt.html")) == "markup"
    assert judge_text(html_text("sec-10k-galaxy-gaming-excerpt.html")) == "ok"


@pytest.mark.parametrize("name", ["war-and-peace-tolstoy.txt", "udhr-article1-all-languages.txt",
                                  "semicolon-delimited.csv"])
def test_plain_text_in_any_script_is_ok(name):
    assert judge_text(read_as_text(name)) == "ok"
