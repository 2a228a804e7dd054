"""The light spaCy pipeline the parse workers give unstructured (ingest.parsing.library_patches installs it): installed
for real, same element decisions."""

from __future__ import annotations

import re
import subprocess
import sys

from shared_data import DOCS

_CHECK = """
import sys
from ingest.offline import enforce_offline
enforce_offline()
from ingest.parsing.library_patches import install_patches
from ingest.parsing.partitioning import parse_file
from unstructured.nlp import tokenize
from unstructured.partition import docx, text
from unstructured.partition.html import parser as html_parser

paths = sys.argv[1:]
befores = [parse_file(path).elements for path in paths]  # every file before the patches, as the library parses
narrative_checks = [(module, module.is_possible_narrative_text) for module in (docx, html_parser, text)]
install_patches()
for module, check in narrative_checks:  # the light pipeline alone: the body-text shortcuts are measured on their own
    module.is_possible_narrative_text = check
for cached in (tokenize._process_cached, tokenize._tokenize_for_cache, tokenize.pos_tag, tokenize.word_tokenize):
    cached.cache_clear()
afters = [parse_file(path).elements for path in paths]
print(tokenize._get_nlp().pipe_names)
titles = lambda elements: [e.text for e in elements if e.category == "Title"]
for before, after in zip(befores, afters):
    print(len(before) == len(after), titles(before) == titles(after), sum(a == b for a, b in zip(before, after)) / len(before))
"""

LIGHT_PIPELINE_FILES = ("moby-dick-opening.docx", "norwich-city-iwan-roberts.txt")


def test_light_pipeline_is_used_and_keeps_every_title():
    # A fresh process: unstructured caches its pipeline per process. One for both files: each is parsed before the
    # patches, then each after them.
    out = subprocess.run(
        [sys.executable, "-c", _CHECK, *(str(DOCS / name) for name in LIGHT_PIPELINE_FILES)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.splitlines()
    assert out[0] == "['tok2vec', 'tagger', 'sentencizer']"
    assert len(out) == 1 + len(LIGHT_PIPELINE_FILES), out
    for name, line in zip(LIGHT_PIPELINE_FILES, out[1:]):
        same_count, same_titles, agreement = line.split()
        assert same_count == "True" and same_titles == "True", name
        assert float(agreement) >= 0.95, name


_LAZY_CHECK = """
import sys
from ingest.offline import enforce_offline
enforce_offline()
from ingest.parsing.library_patches import install_patches
from ingest.parsing.partitioning import parse_file
from ingest.parsing.sentences import load_light_pipeline
from unstructured.nlp import tokenize
from unstructured.partition import text_type

paths = sys.argv[1:]
library_pos_tag = text_type.pos_tag
install_patches()
lazies = [parse_file(path).elements for path in paths]
tokenize._run_pipeline = lambda text: load_light_pipeline()(text)  # every text through tok2vec and the tagger
text_type.pos_tag = library_pos_tag
for cached in (tokenize._process_cached, tokenize._tokenize_for_cache, tokenize.word_tokenize, library_pos_tag):
    cached.cache_clear()
eagers = [parse_file(path).elements for path in paths]
for lazy, eager in zip(lazies, eagers):
    print([(e.text, e.category) for e in lazy] == [(e.text, e.category) for e in eager], len(lazy))
"""

LAZY_TAGGING_FILES = ("dense-passage-retrieval-paper.pdf", "norwich-city-iwan-roberts.txt")


def test_tagging_only_what_is_asked_about_changes_no_element():
    # One fresh process for both files: each is parsed with the lazy tagger, then each with every text tagged.
    out = subprocess.run(
        [sys.executable, "-c", _LAZY_CHECK, *(str(DOCS / name) for name in LAZY_TAGGING_FILES)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.splitlines()
    assert len(out) == len(LAZY_TAGGING_FILES), out
    for name, line in zip(LAZY_TAGGING_FILES, out):
        same, count = line.split()
        assert same == "True" and int(count) > 100, name


def test_batched_paragraphs_get_the_tags_and_sentences_of_one_call_each(monkeypatch, unstructured_restored):
    from unstructured.cleaners.core import auto_paragraph_grouper
    from unstructured.nlp import tokenize
    from unstructured.partition import text_type
    from unstructured.partition.text import PARAGRAPH_PATTERN

    from ingest.parsing.detection import read_text
    from ingest.parsing.library_patches import install_patches
    from ingest.parsing.plain_text import is_long_paragraph
    from ingest.parsing.sentences import batched, load_light_pipeline

    asked = []

    def full_run(text):  # the library's own run, counted: neither the batch nor the lazy tagger needs it
        asked.append(text)
        return load_light_pipeline()(text)

    monkeypatch.setattr(tokenize, "_run_pipeline", full_run)
    install_patches()
    text = auto_paragraph_grouper(read_text(str(DOCS / "norwich-city-iwan-roberts.txt")))
    paragraphs = [p.strip() for p in re.split(PARAGRAPH_PATTERN, text)]
    short = list(dict.fromkeys(p for p in paragraphs if p and not is_long_paragraph(p)))
    assert len(short) > 100

    with batched(short):
        reused = [tokenize._run_pipeline(text) for text in short]
    single = [load_light_pipeline()(text) for text in short]
    assert [[t.tag_ for t in d] for d in reused] == [[t.tag_ for t in d] for d in single]  # tagged: from the batch
    assert [len(list(d.sents)) for d in reused] == [len(list(d.sents)) for d in single]

    outside = tokenize._run_pipeline("Not in the batch. Two sentences.")
    assert len(list(outside.sents)) == 2 and not any(t.tag_ for t in outside)  # words and sentences only
    assert text_type.pos_tag("Not in the batch.") == [(t.text, t.tag_) for t in load_light_pipeline()("Not in the batch.")]
    assert asked == []
