"""A lighter spaCy pipeline for unstructured's text heuristics, used in the parse workers, run only as far as each
question needs, and a way to run it over many paragraphs at once.

unstructured classifies each paragraph ("narrative text or title?") with two questions to spaCy: does it contain
a verb (POS tags, from tok2vec + tagger) and how many sentences does it hold. Its pipeline answers the second with
the dependency parser, the slowest component; a rule-based sentencizer counts sentences as well for a threshold of
one or two (bench/parse.py: the 820k-character DOJ handbook parses in ~36 % less CPU; docs/benchmarks.md).
unstructured has no setting for its pipeline: `ingest.parsing.library_patches` points its loader at
`load_light_pipeline` and its spaCy calls at `light_doc`, and checks that the names it replaces still exist.

Most of what unstructured asks needs only words and sentences: a title-like line is settled by its capitals before
anyone asks for its verbs. So the tagger runs only for the texts whose POS tags are asked for; the other questions get
the tokenizer and the sentencizer alone (the shared PDFs and texts parse in half the CPU, same elements and titles).
It also asks spaCy one paragraph at a time, and for a short paragraph most of that call is per-call overhead:
`nlp.pipe` over the same paragraphs takes a third of the CPU (2.6 s against 0.8 s for 1,500 lines of War and Peace).
`batched(texts)` runs the pipeline over a document's paragraphs up front and hands unstructured those results
when it asks about the same texts; anything else still gets a call of its own.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

MODEL = "en_core_web_sm"
_DROPPED = ["ner", "lemmatizer", "attribute_ruler", "parser", "senter"]
_BATCH = 256
_BATCH_AT_LEAST = 32  # fewer paragraphs than this are tagged one by one, if at all
_prepared: dict[str, Any] = {}  # text -> spaCy Doc, filled by `batched` for the duration of one document
_batches_enabled = False  # see enable_batches


@functools.lru_cache(maxsize=1)
def load_light_pipeline() -> Any:
    import spacy

    nlp = spacy.load(MODEL, exclude=_DROPPED)  # tok2vec + tagger: the POS tags the verb test reads
    nlp.add_pipe("sentencizer")
    return nlp


def light_doc(text: str, *, tagged: bool) -> Any | None:
    """The light pipeline's Doc of this text: the running batch's, else made now, with POS tags only if `tagged`
    (words and sentences are all unstructured's other questions read). None when the text is longer than spaCy
    takes: the library's own call truncates it."""
    doc = _prepared.get(text)
    if doc is not None:
        return doc
    nlp = load_light_pipeline()
    if len(text) > nlp.max_length:
        return None
    if tagged:
        return nlp(str(text))  # OCR gives numpy.str_, which spaCy refuses
    return nlp.get_pipe("sentencizer")(nlp.make_doc(str(text)))


def enable_batches() -> None:
    """unstructured now asks `light_doc` (ingest.parsing.library_patches installed it): from here on `batched` runs
    its batches, which nothing would read before."""
    global _batches_enabled
    _batches_enabled = True


@contextmanager
def batched(texts: Sequence[str]) -> Iterator[None]:
    """Within this block, unstructured's spaCy questions about these texts are answered from one batched run.
    Does nothing until `enable_batches` has been called (the results would not be looked up)."""
    if len(texts) < _BATCH_AT_LEAST or not _batches_enabled:
        yield  # a few lines: most are settled by their capitals and never tagged, so tag on demand
        return
    nlp = load_light_pipeline()
    wanted: dict[str, None] = {}  # distinct, in order
    for text in texts:
        if text and len(text) < nlp.max_length:
            wanted[text] = None
            if text.isupper():  # the library lower-cases a text in capitals before asking for its verbs
                wanted[text.lower()] = None
    _prepared.update(zip(wanted, nlp.pipe(list(wanted), batch_size=_BATCH)))
    try:
        yield
    finally:
        _prepared.clear()
