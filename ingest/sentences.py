"""A lighter spaCy pipeline for unstructured's text heuristics, installed in the parse workers.

unstructured classifies each paragraph ("narrative text or title?") with two questions to spaCy: does it contain
a verb (POS tags, from tok2vec + tagger) and how many sentences does it hold. Its pipeline answers the second with
the dependency parser, the slowest component; a rule-based sentencizer counts sentences as well for a threshold of
one or two (bench/parse.py: the 820k-character DOJ handbook parses in ~36 % less CPU; docs/benchmarks.md).
unstructured loads its pipeline through `unstructured.nlp.tokenize._get_nlp`, read at each call: pointing that name
at this loader is the whole change. If a new unstructured moves it, `install` raises instead of silently doing nothing.
"""

from __future__ import annotations

import functools

MODEL = "en_core_web_sm"
_DROPPED = ["ner", "lemmatizer", "attribute_ruler", "parser", "senter"]


@functools.lru_cache(maxsize=1)
def load_light_pipeline():
    import spacy

    nlp = spacy.load(MODEL, exclude=_DROPPED)  # tok2vec + tagger: the POS tags the verb test reads
    nlp.add_pipe("sentencizer")
    return nlp


def install_light_pipeline() -> None:
    """Make unstructured use the light pipeline in this process (idempotent)."""
    from unstructured.nlp import tokenize

    if not callable(getattr(tokenize, "_get_nlp", None)):
        raise RuntimeError("unstructured.nlp.tokenize._get_nlp is gone: review ingest/sentences.py for this version")
    tokenize._get_nlp = load_light_pipeline
