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
def retriever(tmp_path_factory, shared_models):
    ingestor = shared_models.ingestor(load_settings(data_dir=tmp_path_factory.mktemp("languages") / "data",
                                                    _env_file=None))
    results = ingestor.ingest([DOCS / name for name in FILES])
    assert [r.status for r in results] == ["added"] * len(FILES), results
    yield Retriever(ingestor.embedder, ingestor.sparse, ingestor.store)
    ingestor.close()


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
