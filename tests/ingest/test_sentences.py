"""The light spaCy pipeline the parse workers give unstructured: installed for real, same element decisions."""

from __future__ import annotations

import subprocess
import sys

from shared_data import DOCS

_CHECK = """
import sys
from ingest.offline import enforce_offline
enforce_offline()
from ingest.parsing import parse_file
from ingest.sentences import install_light_pipeline
from unstructured.nlp import tokenize

path = sys.argv[1]
before = parse_file(path).elements
install_light_pipeline()
for cached in (tokenize._process_cached, tokenize._tokenize_for_cache, tokenize.pos_tag, tokenize.word_tokenize):
    cached.cache_clear()
after = parse_file(path).elements
print(tokenize._get_nlp().pipe_names)
titles = lambda elements: [e.text for e in elements if e.category == "Title"]
print(len(before) == len(after), titles(before) == titles(after), sum(a == b for a, b in zip(before, after)) / len(before))
"""


def test_light_pipeline_is_used_and_keeps_every_title(tmp_path):
    # A fresh process: unstructured caches its pipeline per process.
    out = subprocess.run(
        [sys.executable, "-c", _CHECK, str(DOCS / "moby-dick-opening.docx")],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.splitlines()
    assert out[0] == "['tok2vec', 'tagger', 'sentencizer']"
    same_count, same_titles, agreement = out[1].split()
    assert same_count == "True" and same_titles == "True"
    assert float(agreement) >= 0.95
