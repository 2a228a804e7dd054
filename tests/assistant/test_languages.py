"""Questions in Spanish and German find the document in that language (bench/languages.py measures more cases)."""

from __future__ import annotations

import pytest

from assistant.models import User
from assistant.retrieval.search import Retriever
from ingest.settings import load_settings
from shared_data import DOCS

FILES = ("rgpd-capitulos-1-3-es.docx", "bdsg-2018-bundesdatenschutzgesetz-de.md", "memo-supply-delivery.pdf")
ADMIN = User(name="admin", groups=(), is_admin=True)


@pytest.fixture(scope="module")
def ingestor(tmp_path_factory, shared_models):
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path_factory.mktemp("languages") / "data",
                                                    _env_file=None))
    results = ingestor.ingest([DOCS / name for name in FILES])
    assert [r.status for r in results] == ["added"] * len(FILES), results
    yield ingestor
    ingestor.close()


@pytest.fixture(scope="module")
def retriever(ingestor):
    return Retriever(ingestor.embedder, ingestor.sparse, ingestor.store)


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("¿Qué es el consentimiento del interesado?", "rgpd-capitulos-1-3-es.docx"),
        ("¿Cuándo debe notificarse una violación de la seguridad de los datos a la autoridad de control?",
         "rgpd-capitulos-1-3-es.docx"),
        ("Wann dürfen öffentliche Stellen Videoüberwachung einsetzen?", "bdsg-2018-bundesdatenschutzgesetz-de.md"),
    ],
)
@pytest.mark.parametrize("method", ["sparse", "hybrid"])
def test_question_finds_the_document_in_its_language(retriever, question, document, method):
    passages = retriever.search(question, ADMIN, k=3, method=method)
    assert passages[0].chunk.document_name == document


# -- across languages: the question translated into the library's other languages -----------------------------------

WATER_ES = "¿Cuántas botellas de agua se entregaron?"
WATER_EN = "How many bottles of water were delivered?"


def test_a_translation_finds_the_document_in_its_language(retriever):
    alone = retriever.search(WATER_ES, ADMIN, k=3, with_relevance=True)
    translated = retriever.search(WATER_ES, ADMIN, k=3, with_relevance=True, translations={"en": WATER_EN})

    assert "memo-supply-delivery.pdf" not in [p.chunk.document_name for p in alone]
    assert translated[0].chunk.document_name == "memo-supply-delivery.pdf"
    # Its relevance is judged against the translation, the query closest to it: the gate lets it through.
    assert translated[0].relevance is not None and translated[0].relevance > 0.5


def test_a_translation_searches_only_its_languages_documents(retriever):
    # The "translation" holds a German word too: searched in the Spanish documents only, what it adds is Spanish.
    question = "Wann dürfen öffentliche Stellen Videoüberwachung einsetzen?"
    passages = retriever.search(question, ADMIN, k=10, translations={"es": "consentimiento Videoüberwachung"})
    own = retriever.search(question, ADMIN, k=10)

    extra = {p.chunk.chunk_id for p in passages} - {p.chunk.chunk_id for p in own}
    assert extra, "the translation found nothing of its own"
    assert {p.chunk.language for p in passages if p.chunk.chunk_id in extra} == {"es"}


@pytest.fixture(scope="module")
def packaged(ingestor, retriever, answer_llm_server):
    """The assistant over these documents, answering with the packaged chat model (translations on, the default)."""
    from assistant.answering.assistant import Assistant
    from assistant.llm import LLMClient
    from assistant.settings import load_assistant_settings

    settings = load_assistant_settings(llm_base_url=answer_llm_server.base_url, llm_max_tokens=160, _env_file=None)
    return Assistant(settings, retriever, LLMClient(answer_llm_server.base_url), documents=ingestor.registry.all)


def test_the_configured_llm_translates_a_question_and_the_document_reaches_the_model(packaged):
    """End to end with the packaged chat model: the assistant asks it for the library's other languages, and the
    English memo reaches the prompt for a Spanish question."""
    translations = packaged.translations(WATER_ES, ADMIN)
    passages = packaged.retrieve(WATER_ES, ADMIN, translations)

    assert set(translations) == {"en", "de"}  # the library's other languages; Spanish is the question's own
    assert "water" in translations["en"].lower()
    assert passages and passages[0].chunk.document_name == "memo-supply-delivery.pdf"
    assert "memo-supply-delivery.pdf" not in [p.chunk.document_name for p in packaged.retrieve(WATER_ES, ADMIN)]


def test_a_search_asked_to_translate_finds_the_document_in_another_language(packaged):
    """`enclave search --translate` and the API's `translate`: the same translation, for a search without an answer."""
    translated = packaged.search(WATER_ES, ADMIN, k=3, translate=True)

    assert translated[0].chunk.document_name == "memo-supply-delivery.pdf"
    assert "memo-supply-delivery.pdf" not in [p.chunk.document_name for p in packaged.search(WATER_ES, ADMIN, k=3)]


def test_an_english_question_is_answered_from_a_spanish_law_with_its_citation(packaged):
    """The answer, written in English, is checked against the Spanish passage in Spanish: it keeps its citation
    instead of becoming "not found"."""
    answer = packaged.ask("Within what time must the controller respond to a request from a data subject?",
                          ADMIN).read()

    assert not answer.not_found, answer
    assert "rgpd-capitulos-1-3-es.docx" in {c.document for c in answer.citations}
