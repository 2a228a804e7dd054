"""A lighter spaCy pipeline for unstructured's text heuristics, installed in the parse workers, run only as far as each
question needs, and a way to run it over many paragraphs at once.

unstructured classifies each paragraph ("narrative text or title?") with two questions to spaCy: does it contain
a verb (POS tags, from tok2vec + tagger) and how many sentences does it hold. Its pipeline answers the second with
the dependency parser, the slowest component; a rule-based sentencizer counts sentences as well for a threshold of
one or two (bench/parse.py: the 820k-character DOJ handbook parses in ~36 % less CPU; docs/benchmarks.md).
unstructured loads its pipeline through `unstructured.nlp.tokenize._get_nlp`, read at each call: pointing that name
at this loader is the whole change. If a new unstructured moves it, `install` raises instead of silently doing nothing.

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


@functools.lru_cache(maxsize=1)
def load_light_pipeline():
    import spacy

    nlp = spacy.load(MODEL, exclude=_DROPPED)  # tok2vec + tagger: the POS tags the verb test reads
    nlp.add_pipe("sentencizer")
    return nlp


def install_light_pipeline() -> None:
    """Make unstructured use the light pipeline in this process, tag only the texts whose verbs it asks about, and
    look up batched results first (idempotent)."""
    from unstructured.nlp import tokenize
    from unstructured.partition import text_type

    for module, name in ((tokenize, "_get_nlp"), (tokenize, "_run_pipeline"), (text_type, "pos_tag")):
        if not callable(getattr(module, name, None)):
            raise RuntimeError(f"{module.__name__}.{name} is gone: review ingest/parsing/sentences.py for this version")
    tokenize._get_nlp = load_light_pipeline
    if not getattr(tokenize._run_pipeline, "enclave_batched", False):
        run_pipeline = tokenize._run_pipeline
        tokenize._run_pipeline = _sentences_or_reuse(run_pipeline)
        text_type.pos_tag = tokenize.pos_tag = _tagger(run_pipeline)


def _sentences_or_reuse(run_pipeline):
    """What unstructured's other questions read from a Doc: words and sentences. Those need neither tok2vec nor the
    tagger: a title-like line ("CHAPTER IV", "Document 12") is decided by its capitals before its verbs are asked."""

    def sentences_or_reuse(text: str):
        doc = _prepared.get(text)
        if doc is not None:
            return doc
        nlp = load_light_pipeline()
        if len(text) > nlp.max_length:
            return run_pipeline(text)  # the library's own truncation
        return nlp.get_pipe("sentencizer")(nlp.make_doc(str(text)))  # OCR gives numpy.str_, which spaCy refuses

    sentences_or_reuse.enclave_batched = True  # type: ignore[attr-defined]
    return sentences_or_reuse


def _tagger(run_pipeline):
    @functools.lru_cache(maxsize=128)  # as the library's own pos_tag
    def pos_tag(text: str) -> list[tuple[str, str]]:
        doc = _prepared.get(text)
        if doc is None:
            nlp = load_light_pipeline()
            doc = run_pipeline(text) if len(text) > nlp.max_length else nlp(str(text))  # OCR text is numpy.str_
        return [(token.text, token.tag_) for token in doc]

    return pos_tag


@contextmanager
def batched(texts: Sequence[str]) -> Iterator[None]:
    """Within this block, unstructured's spaCy questions about these texts are answered from one batched run.
    Does nothing where `install_light_pipeline` has not been called (the results would not be looked up)."""
    from unstructured.nlp import tokenize

    if len(texts) < _BATCH_AT_LEAST or not getattr(tokenize._run_pipeline, "enclave_batched", False):
        yield  # a few lines: most are settled by their capitals and never tagged, so tag on demand
        return
    nlp = tokenize._get_nlp()
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
