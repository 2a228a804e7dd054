"""The lexical encoder is a pure function of its text: these tests check its tokens, stems and weights."""

from __future__ import annotations

import pytest

from ingest.encoders.sparse import (
    SparseEncoder,
    fold_accents,
    guess_language_by_stop_words,
    hash_token,
    normalize_language,
    tokenize,
)
from ingest.models import SparseVector


@pytest.fixture(scope="module")
def encoder() -> SparseEncoder:
    return SparseEncoder()


def weights(vector: SparseVector) -> dict[int, float]:
    return dict(zip(vector.indices, vector.values))


def shared(a: SparseVector, b: SparseVector) -> set[int]:
    return set(a.indices) & set(b.indices)


def test_token_hash_is_stable_across_processes_and_31_bits():
    # A fixed value: Python's hash() would change with PYTHONHASHSEED and break every stored vector.
    assert hash_token("c:xr-7734") == 630904674
    assert all(0 <= hash_token(t) < 2**31 for t in ("a", "é", "x" * 500))


def test_identifiers_are_kept_whole_beside_their_parts():
    words, codes = tokenize("Pump XR-7734 failed with 0x80070005 after update v2.3.1 (see MAX_RETRIES).")

    assert codes == ["xr-7734", "v2.3.1", "max_retries"]
    assert {"xr", "7734", "0x80070005", "v2", "max", "retries"} <= set(words)


def test_a_query_for_a_code_meets_the_document_that_holds_it(encoder):
    doc, other = encoder.encode_documents(
        ["Spare part XR-7734 shipped to Lisbon.", "Spare part XR-7743 shipped to Porto."], language="en"
    )
    query = encoder.encode_query("XR-7734")

    code = hash_token("c:xr-7734")
    assert code in weights(query) and code in weights(doc) and code not in weights(other)
    assert len(shared(query, doc)) > len(shared(query, other))


def test_accents_and_case_are_folded_but_spanish_n_tilde_is_kept():
    assert fold_accents("Sécurité ÉLÈVE Straße") == "securite eleve strasse"
    assert fold_accents("Años") == "años"


def test_an_unaccented_query_matches_accented_text(encoder):
    doc = encoder.encode_documents(["La politique de sécurité de l'entreprise."], language="fr")[0]

    assert hash_token("s:securit") in weights(doc)
    assert hash_token("s:securit") in weights(encoder.encode_query("securite", language="fr"))


def test_a_spanish_query_of_unknown_language_meets_spanish_stems(encoder):
    doc = encoder.encode_documents(["Las políticas de vacaciones de los empleados."], language="es")[0]
    # No stop word gives the language away, so the query carries the stems of every default language.
    query = encoder.encode_query("politica vacacion empleado")

    assert {hash_token("s:polit"), hash_token("s:vacacion"), hash_token("s:emple")} <= shared(query, doc)


def test_a_query_language_is_detected_from_its_stop_words():
    assert guess_language_by_stop_words(tokenize("¿Cuántos días de vacaciones tengo este año?")[0]) == "es"
    assert guess_language_by_stop_words(tokenize("What is the policy for the holidays?")[0]) == "en"
    assert guess_language_by_stop_words(tokenize("Wie viele Urlaubstage habe ich noch?")[0]) == "de"
    assert guess_language_by_stop_words(tokenize("Quelle est la politique de congés?")[0]) == "fr"
    assert guess_language_by_stop_words(tokenize("XR-7734 pump")[0]) is None


def test_language_codes_of_either_iso_standard_are_understood():
    assert normalize_language("es-ES") == "es"
    assert normalize_language("spa") == "es"
    assert normalize_language("ENG") == "en"
    assert normalize_language("zz") is None
    assert normalize_language(None) is None


def test_stop_words_are_dropped_from_documents(encoder):
    vector = encoder.encode_documents(["The policy of the company"], language="en")[0]

    assert hash_token("w:the") not in weights(vector)
    assert hash_token("w:policy") in weights(vector)


def test_a_query_of_stop_words_only_still_searches_for_them(encoder):
    assert encoder.encode_query("to be or not to be").indices


def test_term_frequency_saturates(encoder):
    once, often = encoder.encode_documents(["pump " + "filler " * 99, "pump " * 10 + "filler " * 90], language="en")
    index = hash_token("w:pump")

    assert weights(once)[index] < weights(often)[index] < encoder.k1 + 1


def test_longer_documents_weigh_a_term_less(encoder):
    short, long = encoder.encode_documents(["pump valve", "pump " + "valve " * 400], language="en")
    index = hash_token("w:pump")

    assert weights(short)[index] > weights(long)[index]


def test_vectors_have_unique_sorted_indices_and_positive_values(encoder):
    vectors = encoder.encode_documents(["Éclair, eclair, ÉCLAIR! Crème brûlée: 3.5 kg.", ""], language=None)

    for vector in vectors:
        assert vector.indices == sorted(set(vector.indices))
        assert all(value > 0 for value in vector.values)
    assert vectors[1] == SparseVector([], [])


def test_document_language_is_detected_when_unknown(encoder):
    given = encoder.encode_documents(["Los empleados tienen derecho a las vacaciones pagadas."], language="es")
    guessed = encoder.encode_documents(["Los empleados tienen derecho a las vacaciones pagadas."])

    assert given == guessed
