"""Each answer sentence checked against the passages, with the packaged embedding model and the search's stemming."""

from __future__ import annotations

import pytest

from assistant.models import Passage
from assistant.answering.verification import Verifier, render, split_sentences
from ingest.encoders.sparse import SparseEncoder
from ingest.models import Chunk

MEMO = ("The shelter received a delivery of supplies on Monday. The delivery included 20,000 bottles of water and "
        "4,000 blankets, provided by the Red Cross.")
POLICY = "Hotel nights are reimbursed up to 150 euros per night. Receipts must be submitted within 30 days."


@pytest.fixture(scope="module")
def verifier(embedder):
    return Verifier(embedder, SparseEncoder())


@pytest.fixture(scope="module")
def passages(embedder):
    texts = [(MEMO, "memo-supply-delivery.pdf"), (POLICY, "travel-policy.docx")]
    vectors = embedder.embed_documents([t for t, _ in texts])
    return [
        Passage(n=i, chunk=Chunk(chunk_id=f"c{i}", document_id=f"d{i}", index=0, text=text, document_name=name,
                                 title=name, language="en"), score=1.0, vector=tuple(vector))
        for i, ((text, name), vector) in enumerate(zip(texts, vectors), start=1)
    ]


def test_a_sentence_citing_its_passage_keeps_the_citation(verifier, passages):
    [sentence] = verifier.check("The delivery included 20,000 bottles of water [1].", passages)
    assert sentence.citations == (1,) and not sentence.unsupported


def test_a_wrong_citation_is_corrected_to_the_passage_that_supports_the_sentence(verifier, passages):
    [sentence] = verifier.check("Hotel nights are reimbursed up to 150 euros [1].", passages)
    assert sentence.citations == (2,) and not sentence.unsupported


def test_a_missing_citation_is_attached(verifier, passages):
    [sentence] = verifier.check("Receipts must be submitted within 30 days.", passages)
    assert sentence.citations == (2,)


def test_an_invented_sentence_is_marked_unsupported_and_loses_its_citation(verifier, passages):
    [sentence] = verifier.check("Employees get 25 days of paid parental leave each year [1].", passages)
    assert sentence.unsupported and sentence.citations == ()


def test_a_number_no_passage_states_is_unsupported_even_with_the_same_words(verifier, passages):
    [sentence] = verifier.check("The delivery included 30,000 bottles of water [1].", passages)
    assert sentence.unsupported


def test_short_connecting_sentences_are_neither_cited_nor_marked(verifier, passages):
    first, second = verifier.check("Here is what I found:\nThe delivery included 4,000 blankets [1].", passages)
    assert (first.citations, first.unsupported) == ((), False)
    assert second.citations == (1,)


def test_sentences_keep_their_markers_and_line_breaks():
    assert split_sentences("A b c [1]. D e f. [2] G:\n- h i [1]\n- j.") == [
        ("A b c [1].", " "), ("D e f. [2]", " "), ("G:", "\n"), ("- h i [1]", "\n"), ("- j.", ""),
    ]


def test_the_checked_answer_is_rendered_with_its_corrected_markers(verifier, passages):
    sentences = verifier.check("Hotel nights are reimbursed up to 150 euros [1].\n- 20,000 bottles of water [2]",
                               passages)
    assert render(sentences) == "Hotel nights are reimbursed up to 150 euros [2].\n- 20,000 bottles of water [1]"


def test_a_german_ordinal_does_not_end_the_sentence():
    assert split_sentences("Sie muss das 35. Lebensjahr vollendet haben [1]. Mehr nicht.") == [
        ("Sie muss das 35. Lebensjahr vollendet haben [1].", " "), ("Mehr nicht.", ""),
    ]


def test_a_spanish_sentence_quoting_a_passage_stored_as_english_is_supported(verifier, embedder):
    text = ("All human beings are born free and equal in dignity and rights. Todos los seres humanos nacen libres e "
            "iguales en dignidad y derechos y, dotados como están de razón y conciencia, deben comportarse "
            "fraternalmente los unos con los otros.")
    [vector] = embedder.embed_documents([text])
    passage = Passage(n=1, chunk=Chunk(chunk_id="u", document_id="u", index=0, text=text, document_name="udhr.eml",
                                       title="udhr", language="en"), score=1.0, vector=tuple(vector))
    [sentence] = verifier.check('El artículo 1 dice: "Todos los seres humanos nacen libres e iguales en dignidad y '
                                'derechos."', [passage], question="¿Qué dice el artículo 1?")
    assert sentence.citations == (1,) and not sentence.unsupported


def test_a_number_the_question_states_may_be_repeated(verifier, passages):
    [sentence] = verifier.check("Form 1 says the delivery included 20,000 bottles of water.", passages,
                                question="What does form 1 say about the delivery?")
    assert sentence.citations == (1,)


def test_a_number_the_passage_writes_in_words_supports_the_same_number_in_digits(verifier, embedder):
    # measured with the packaged model: the BDSG writes "fünfzigtausend Euro", the model answered "50.000 Euro"
    text = "§ 43 Bußgeldvorschriften (3) Die Ordnungswidrigkeit kann mit einer Geldbuße bis zu fünfzigtausend Euro " \
           "geahndet werden."
    [vector] = embedder.embed_documents([text])
    passage = Passage(n=1, chunk=Chunk(chunk_id="b", document_id="b", index=0, text=text, document_name="bdsg.md",
                                       title="BDSG", language="de"), score=1.0, vector=tuple(vector))
    question = "Wie hoch kann die Geldbuße nach den Bußgeldvorschriften höchstens sein?"
    [right] = verifier.check("Die Geldbuße kann bis zu 50.000 Euro betragen [1].", [passage], question=question)
    assert right.citations == (1,) and not right.unsupported
    [short] = verifier.check("50.000 Euro [1]", [passage], question=question)  # the model's own answer
    assert short.citations == (1,) and not short.unsupported
    [wrong] = verifier.check("Die Geldbuße kann bis zu 500.000 Euro betragen [1].", [passage], question=question)
    assert wrong.unsupported


# -- an answer in another language than its passages: checked in theirs ------------------------------------------

RGPD_ART_12 = ("El responsable del tratamiento facilitará al interesado información relativa a sus actuaciones sobre la "
               "base de una solicitud, y, en cualquier caso, en el plazo de un mes a partir de la recepción de la "
               "solicitud.")
ANSWER_EN = "The controller must respond to a request from a data subject within one month of receiving the request."
# What the packaged model wrote for ANSWER_EN into Spanish (bench/languages.py --answers): not the law's own terms.
ANSWER_ES = ("El controlador debe responder a una solicitud de un sujeto de datos dentro de un mes después de recibir "
             "la solicitud.")
INVENTED_EN = "The controller may charge the data subject a fee of 200 euros for each request."
INVENTED_ES = "El controlador puede cobrar al interesado una tasa de 200 euros por cada solicitud."


@pytest.fixture(scope="module")
def spanish_passage(embedder):
    [vector] = embedder.embed_documents([RGPD_ART_12])
    chunk = Chunk(chunk_id="es1", document_id="rgpd", index=0, text=RGPD_ART_12, document_name="rgpd-es.docx",
                  title="Reglamento general de protección de datos", language="es")
    return [Passage(n=1, chunk=chunk, score=1.0, vector=tuple(vector))]


def translator(known: dict[str, str], asked: list):
    """The model's translations of the sentences (as the packaged model wrote them): the verifier is what is tested
    here; the call to a real model is in tests/assistant/test_languages.py."""
    def translate(sentences, language):
        asked.append((list(sentences), language))
        return [known.get(s) for s in sentences]
    return translate


def test_an_english_answer_from_a_spanish_passage_is_checked_in_spanish(verifier, spanish_passage):
    asked: list = []

    alone = verifier.check(ANSWER_EN, spanish_passage, language="en")
    [sentence] = verifier.check(ANSWER_EN, spanish_passage, language="en",
                                translate=translator({ANSWER_EN: ANSWER_ES}, asked))

    assert alone[0].unsupported  # English words and MiniLM's English meaning cannot meet the Spanish law
    assert sentence.citations == (1,) and not sentence.unsupported
    assert asked == [([ANSWER_EN], "es")]  # one call, for the passage's language


def test_a_translated_sentence_the_passage_does_not_state_stays_unsupported(verifier, spanish_passage):
    [sentence] = verifier.check(INVENTED_EN, spanish_passage, language="en",
                                translate=translator({INVENTED_EN: INVENTED_ES}, []))

    assert sentence.unsupported and not sentence.citations


def test_no_translation_is_asked_for_passages_in_the_answers_language(verifier, passages):
    asked: list = []

    [sentence] = verifier.check("The delivery included 20,000 bottles of water [1].", passages, language="en",
                                translate=translator({}, asked))

    assert sentence.citations == (1,) and asked == []
