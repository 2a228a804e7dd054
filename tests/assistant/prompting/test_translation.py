"""The question translated for the search in the library's other languages: which languages, and reading the reply.
(The call to a real model is tested in tests/assistant/test_languages.py.)"""

from __future__ import annotations

from assistant.prompting.translation import library_languages, other_languages, read_translations, translate_sentences
from ingest import DocumentRecord

QUERY = "How many bottles of water were delivered?"


def test_other_languages_are_the_librarys_largest_first_without_the_questions_own():
    sizes = {"en": 900, "es": 300, "de": 400, "fr": 12, None: 50, "it": 2, "pt": 0, "so": 500, "la": 40}

    assert other_languages(sizes, "en", limit=3) == ["de", "es", "fr"]
    assert other_languages(sizes, "de", limit=2) == ["en", "es"]
    assert other_languages({"en": 10}, "en", limit=3) == []  # one language: nothing to translate into
    assert other_languages(sizes, None, limit=10) == ["en", "de", "es", "fr", "it"]  # language unknown: all
    # Somali and Latin (a page of a hundred languages, lorem ipsum, as the detector reads them) are no target.


def test_the_librarys_size_per_language_counts_chunks():
    records = [DocumentRecord(document_id=str(i), name=f"{i}.txt", source="", content_hash="", version=1,
                              chunks=chunks, pages=None, size=1, language=language)
               for i, (language, chunks) in enumerate([("en", 10), ("es", 3), ("en", 5), (None, 0)])]

    assert library_languages(records) == {"en": 15, "es": 3, None: 1}


def test_a_reply_gives_one_translation_per_requested_language():
    reply = ("es: ¿Cuántas botellas de agua se entregaron?\n"
             "- **de**: Wie viele Wasserflaschen wurden geliefert?\n"
             "fr : « Combien de bouteilles d'eau ont été livrées ? »")

    assert read_translations(reply, ["es", "de", "fr"], QUERY) == {
        "es": "¿Cuántas botellas de agua se entregaron?",
        "de": "Wie viele Wasserflaschen wurden geliefert?",
        "fr": "Combien de bouteilles d'eau ont été livrées ?",
    }


def test_a_reply_keeps_nothing_unrequested_repeated_or_rambling():
    reply = "\n".join([
        "Here are the translations:",  # no code: not a translation
        "it: Quante bottiglie d'acqua sono state consegnate?",  # not asked for
        f"en: {QUERY}",  # the query itself
        "es: " + "agua " * 100,  # far longer than any translation of the query
        "de: Wie viele Wasserflaschen wurden geliefert?",
        "de: Wie viele Flaschen Wasser?",  # a second line for one language: the first counts
    ])  # fmt: skip

    assert read_translations(reply, ["en", "es", "de"], QUERY) == {"de": "Wie viele Wasserflaschen wurden geliefert?"}
    assert read_translations("", ["es"], QUERY) == {}


def test_no_call_is_made_to_translate_into_a_language_questions_are_not_translated_into():
    # No LLM client is needed: for a language outside LANGUAGE_NAMES the function returns before any call.
    assert translate_sentences(None, ["The term is five years."], "la") == [None]  # type: ignore[arg-type]
    assert translate_sentences(None, [], "es") == []  # type: ignore[arg-type]
