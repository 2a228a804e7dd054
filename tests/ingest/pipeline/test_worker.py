"""ingest.pipeline.worker: the per-file job run in the parse workers; offline, picklable results and errors."""

from __future__ import annotations

import pickle

import pikepdf
import pytest
from shared_data import BAD, DOCS

from ingest.errors import (
    CorruptDocument,
    EmptyDocument,
    EncryptedDocument,
    FileTooLarge,
    MissingSystemTool,
    UnsupportedFileType,
)
from ingest.pipeline.parse_pool import ParsePool
from ingest.pipeline.worker import ParseOutcome, parse_and_chunk


def test_parse_and_chunk_returns_title_language_pages_and_chunks(chunking_options):
    outcome = parse_and_chunk(str(DOCS / "rgpd-capitulos-1-3-es.pdf"), chunking_options)

    assert outcome.title == "CAPÍTULO I Disposiciones generales"
    assert outcome.language == "es"
    assert outcome.pages == 17
    assert len(outcome.chunks) > 50 and all(c.pages for c in outcome.chunks)


def test_document_without_text_is_empty(tmp_path, chunking_options):
    blank = tmp_path / "blank.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(blank)

    with pytest.raises(EmptyDocument, match="no text content"):
        parse_and_chunk(str(blank), chunking_options)


@pytest.mark.parametrize(
    "name, error",
    [
        ("setup.exe", UnsupportedFileType),
        ("encrypted-aes256.pdf", EncryptedDocument),
        ("whitespace-only.txt", EmptyDocument),
    ],
)
def test_bad_file_raises_its_document_error(name, error, chunking_options):
    with pytest.raises(error):
        parse_and_chunk(str(BAD / name), chunking_options)


@pytest.mark.parametrize(
    "error", [UnsupportedFileType, EncryptedDocument, EmptyDocument, CorruptDocument, FileTooLarge, MissingSystemTool]
)
def test_document_errors_survive_pickling_with_their_message(error):
    copy = pickle.loads(pickle.dumps(error("encrypted: password required")))

    assert type(copy) is error and str(copy) == "encrypted: password required"


def test_outcome_survives_pickling(chunking_options):
    outcome = parse_and_chunk(str(DOCS / "memo-supply-delivery.pdf"), chunking_options)

    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_a_parse_worker_returns_outcomes_and_document_errors(chunking_options):
    """As the pipeline runs it: the parse pool's worker process (forked from the parse server, not from this one),
    results and errors crossing the process boundary."""
    pool = ParsePool(workers=1)
    try:
        good = pool.submit(parse_and_chunk, str(DOCS / "memo-supply-delivery.pdf"), chunking_options)
        bad = pool.submit(parse_and_chunk, str(BAD / "quarterly-report.pdf"), chunking_options)

        outcome = good.result(timeout=300)
        with pytest.raises(UnsupportedFileType, match="not a PDF: the content is a PNG image"):
            bad.result(timeout=300)
    finally:
        pool.close()

    assert isinstance(outcome, ParseOutcome)
    assert "20,000 bottles of water" in " ".join(c.text for c in outcome.chunks)
