"""Every change Enclave makes to unstructured's internals, in one place: `install_patches()`, once per parse worker.

unstructured asks spaCy, paragraph by paragraph, whether a text is narrative or a title, and has no setting for how.
These patches rebind the names its code reads at each call, so that it asks less and more cheaply, and decides
every title, list item and table as before (tests/ingest/parsing/: each patch against the library's own output).
In unstructured's modules:

- nlp.tokenize._get_nlp: loads the light pipeline (ingest.parsing.sentences), not the full one with its parser.
- nlp.tokenize._run_pipeline: words and sentences only, or the running batch's Doc (ingest.parsing.sentences).
- nlp.tokenize.pos_tag and partition.text_type.pos_tag: tag only the texts whose verbs are asked about.
- partition.docx and partition.html.parser's is_possible_narrative_text: the cheap rules of ingest.parsing.plain_text
  (titles there come from styles and tags); partition.text's: the cheap rules for paragraphs longer than a title can
  be, the library's own check for the rest.

A new unstructured may move any of these names. `install_patches` looks for every one of them first, and where one is
gone it patches nothing and raises IngestError naming the version and the name, rather than parse with half of them.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Callable

from ingest.errors import IngestError
from ingest.parsing.plain_text import is_long_paragraph, is_long_prose, is_plain_words
from ingest.parsing.sentences import enable_batches, light_doc, load_light_pipeline

LIBRARY = "unstructured"
_TOKENIZE = "unstructured.nlp.tokenize"
_TEXT_TYPE = "unstructured.partition.text_type"
_PLAIN_TEXT = "unstructured.partition.text"
_BODY_TEXT = ("unstructured.partition.docx", "unstructured.partition.html.parser")  # titles come from markup
# (module, name) of everything install_patches rebinds.
PATCHED = (
    (_TOKENIZE, "_get_nlp"),
    (_TOKENIZE, "_run_pipeline"),
    (_TOKENIZE, "pos_tag"),
    (_TEXT_TYPE, "pos_tag"),
    *((module, "is_possible_narrative_text") for module in (*_BODY_TEXT, _PLAIN_TEXT)),
)
_MARK = "enclave_patch"  # set on each replacement, so installing again leaves it as it is


def install_patches() -> None:
    """Install every patch in this process (idempotent). Raises IngestError, having patched nothing, when a name
    it replaces is missing from the installed unstructured."""
    modules = _library_modules()
    tokenize, text_type = modules[_TOKENIZE], modules[_TEXT_TYPE]
    tokenize._get_nlp = load_light_pipeline
    if not _is_patch(tokenize._run_pipeline):
        run_pipeline = tokenize._run_pipeline
        tokenize._run_pipeline = _words_and_sentences(run_pipeline)
        text_type.pos_tag = tokenize.pos_tag = _tagger(run_pipeline)
    enable_batches()
    for name in _BODY_TEXT:
        if not _is_patch(modules[name].is_possible_narrative_text):
            modules[name].is_possible_narrative_text = _narrative_body_text
    plain_text = modules[_PLAIN_TEXT]
    if not _is_patch(plain_text.is_possible_narrative_text):
        plain_text.is_possible_narrative_text = _narrative_if_long_prose(plain_text.is_possible_narrative_text)


def _library_modules() -> dict[str, Any]:  # modules, typed loosely: we set names mypy cannot see
    """The modules patched, once each of the names replaced is found callable in them."""
    modules: dict[str, Any] = {}
    missing = []
    for module_name, name in PATCHED:
        if module_name not in modules:
            try:
                modules[module_name] = importlib.import_module(module_name)
            except ImportError:
                missing.append(module_name)
                continue
        if not callable(getattr(modules[module_name], name, None)):
            missing.append(f"{module_name}.{name}")
    if missing:
        try:
            installed = version(LIBRARY)
        except PackageNotFoundError:
            installed = "(not installed)"
        raise IngestError(
            f"{LIBRARY} {installed} has no {', '.join(dict.fromkeys(missing))}, which Enclave replaces to parse "
            "faster (ingest/parsing/library_patches.py): install the version pyproject.toml pins, or review those "
            "patches for this one"
        )
    return modules


def _mark(function: Callable[..., Any]) -> Callable[..., Any]:
    setattr(function, _MARK, True)
    return function


def _is_patch(function: object) -> bool:
    return getattr(function, _MARK, False)


def _words_and_sentences(run_pipeline: Callable[[str], Any]) -> Callable[[str], Any]:
    """The library's _run_pipeline for what its other questions read from a Doc: words and sentences. Those need
    neither tok2vec nor the tagger: a title-like line ("CHAPTER IV", "Document 12") is decided by its capitals
    before its verbs are asked."""

    def words_and_sentences(text: str) -> Any:
        doc = light_doc(text, tagged=False)
        return run_pipeline(text) if doc is None else doc  # too long for spaCy: the library's own truncation

    return _mark(words_and_sentences)


def _tagger(run_pipeline: Callable[[str], Any]) -> Callable[[str], list[tuple[str, str]]]:
    @functools.lru_cache(maxsize=128)  # as the library's own pos_tag
    def pos_tag(text: str) -> list[tuple[str, str]]:
        doc = light_doc(text, tagged=True)
        if doc is None:
            doc = run_pipeline(text)
        return [(token.text, token.tag_) for token in doc]

    return _mark(pos_tag)


@_mark
def _narrative_body_text(text: str, *args: object, **kwargs: object) -> bool:
    """is_possible_narrative_text for a paragraph already known to be body text (Word, HTML): long prose is."""
    return is_long_prose(text)


def _narrative_if_long_prose(library_check: Callable[..., bool]) -> Callable[..., bool]:
    """is_possible_narrative_text where text alone decides (PDF text boxes, e-mail bodies): a paragraph past the
    library's own title length is body text whatever spaCy says; titles, list items and addresses are decided by
    the library as before."""

    def is_possible_narrative_text(text: str, *args: object, **kwargs: object) -> bool:
        if is_long_paragraph(text):
            return is_plain_words(text)  # if not, is_possible_title refuses it for its length: body text either way
        return library_check(text, *args, **kwargs)

    return _mark(is_possible_narrative_text)
