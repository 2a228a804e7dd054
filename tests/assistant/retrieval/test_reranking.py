"""The re-ranking stage: the packaged nomic model in-process, the rerank-service client, settings and wiring.

Real parts throughout: the packaged nomic-embed-text-v1.5 GGUF, embedded Qdrant, SciFact's real abstracts.
No cross-encoder can run offline here and llama-cpp-python's own server has no rerank endpoint, so the service
client is tested against a loopback HTTP server that speaks vLLM's rerank protocol and scores with the real nomic
model, plus fault-injection servers (down, failing, wrong endpoint, too slow).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest
from llama_index.core.schema import QueryBundle

from assistant import (
    AssistantError,
    EmbeddedReranker,
    Retriever,
    RerankerUnavailable,
    ServiceReranker,
    User,
    load_assistant_settings,
    open_enclave,
    open_reranker,
)
from assistant.models import Passage
from assistant.retrieval.llamaindex import RerankStage, node_from_passage, passage_from_node
from assistant.retrieval.reranking import RRF_K, passage_text, queries_by_language, reciprocal_rank_fusion
from enclave_cli import invoke
from ingest import Chunk, load_settings, open_ingestor
from shared_data import SCIFACT

# SciFact train query 74 with its one relevant abstract and the three abstracts sharing most of its words. With only
# these four stored, hybrid search ranks 36233757 (urease, but not its subunits) first; the answer is 4387784.
QUERY = "Active H. pylori urease has a polymeric structure consisting of five distinct subunits."
RELEVANT, DISTRACTOR = "4387784", "36233757"
DOCUMENTS = (RELEVANT, DISTRACTOR, "4425507", "2617858")


def scifact_abstracts(ids: tuple[str, ...]) -> dict[str, dict]:
    wanted = set(ids)
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as fh:
        rows = (json.loads(line) for line in fh)
        return {row["_id"]: row for row in rows if row["_id"] in wanted}


@pytest.fixture(scope="module")
def embedded(reranker_model_path) -> Iterator[EmbeddedReranker]:
    reranker = EmbeddedReranker(reranker_model_path, threads=os.cpu_count() or 2)
    yield reranker
    reranker.close()


@pytest.fixture(scope="module")
def scifact_ingestor(tmp_path_factory):
    """The four abstracts, stored for group `science`; a fifth, about the same enzyme, only for group `legal`."""
    from ingest import TextRecord

    abstracts = scifact_abstracts(DOCUMENTS)
    ingestor = open_ingestor(load_settings(data_dir=tmp_path_factory.mktemp("rerank") / "data", _env_file=None))
    records = [TextRecord(key=d, name=d, title=abstracts[d]["title"], text=abstracts[d]["text"]) for d in DOCUMENTS]
    ingestor.ingest_records(records, groups=("science",), user="test")
    secret = TextRecord(key="secret", name="secret-urease-memo", title="Urease subunits",
                        text="Active H. pylori urease is a polymer of five distinct subunits, says our lab.")
    ingestor.ingest_records([secret], groups=("legal",), user="test")
    yield ingestor
    ingestor.close()


def documents_in_order(passages) -> list[str]:
    return list(dict.fromkeys(p.chunk.document_name for p in passages))


# -- the embedded reranker -----------------------------------------------------------------------------------------


def test_embedded_reranker_moves_the_answer_above_a_passage_the_first_stage_ranked_higher(
    scifact_ingestor, embedded
):
    scientist = User("ada", groups=("science",))
    first_stage = Retriever(scifact_ingestor.embedder, scifact_ingestor.sparse, scifact_ingestor.store)
    reranked = Retriever(scifact_ingestor.embedder, scifact_ingestor.sparse, scifact_ingestor.store,
                         reranker=embedded, rerank_candidates=20)

    before = documents_in_order(first_stage.search(QUERY, scientist, k=20))
    after = documents_in_order(reranked.search(QUERY, scientist, k=20))

    assert before.index(DISTRACTOR) < before.index(RELEVANT)  # the case: the first stage gets it wrong
    assert after[0] == RELEVANT
    assert after.index(RELEVANT) < after.index(DISTRACTOR)


def test_with_rerank_on_a_user_never_gets_or_exposes_a_passage_outside_their_groups(scifact_ingestor, embedded):
    seen: list[Chunk] = []

    class Recording:  # the real reranker, recording what it was shown
        description = embedded.description

        def rerank(self, query, chunks, queries=None):
            seen.extend(chunks)
            return embedded.rerank(query, chunks, queries)

        def close(self):
            pass

    retriever = Retriever(scifact_ingestor.embedder, scifact_ingestor.sparse, scifact_ingestor.store,
                          reranker=Recording(), rerank_candidates=20)
    scientist = User("ada", groups=("science",))
    passages = retriever.search(QUERY, scientist, k=20, with_relevance=True)

    assert passages and seen
    assert "secret-urease-memo" not in documents_in_order(passages)
    assert all(set(c.groups) & {"science"} for c in seen)  # the secret chunk never even reached the reranker
    assert retriever.search(QUERY, User("eve", groups=("marketing",)), k=20) == []


def test_the_retriever_hands_only_the_first_candidates_to_the_reranker_and_keeps_the_rest_in_order(
    scifact_ingestor, embedded
):
    first_stage = Retriever(scifact_ingestor.embedder, scifact_ingestor.sparse, scifact_ingestor.store)
    reranked = Retriever(scifact_ingestor.embedder, scifact_ingestor.sparse, scifact_ingestor.store,
                         reranker=embedded, rerank_candidates=3)
    admin = User("root", groups=(), is_admin=True)

    before = [p.chunk.chunk_id for p in first_stage.search(QUERY, admin, k=12)]
    after = [p.chunk.chunk_id for p in reranked.search(QUERY, admin, k=12)]

    assert sorted(after[:3]) == sorted(before[:3])
    assert after[3:] == before[3:]


def test_repeated_candidates_are_not_encoded_again_and_the_cache_stays_bounded(reranker_model_path):
    chunks = [_chunk("a", "Honey bees dance to show where the flowers are."),
              _chunk("b", "Tides follow the Moon."), _chunk("c", "Sourdough rises with wild yeast.")]
    reranker = EmbeddedReranker(reranker_model_path, threads=1, cache_size=2)
    try:
        reranker.rerank("How do bees find flowers?", chunks[:2])
        cached = dict(reranker._vectors)
        reranker.rerank("Where do bees forage?", chunks[:2])
        assert all(reranker._vectors[key] is vector for key, vector in cached.items())  # the same arrays
        reranker.rerank("What makes bread rise?", chunks)
        assert len(reranker._vectors) == 2
    finally:
        reranker.close()


# A Spanish question, its English translation (as assistant/prompting/translation.py gives it), and what the search
# found: a Spanish passage that shares the question's words but not its subject, first; the English answer, second.
SPANISH_QUESTION = "¿Cuántos días de vacaciones puedo pasar al año siguiente?"
ENGLISH_QUESTION = "How many vacation days can I carry over into next year?"
SPANISH_OFF_TOPIC = Chunk("es", "es", 0, "Las vacaciones de la oficina: el calendario de días festivos del año y el "
                          "horario de verano.", "es", "", language="es")
ENGLISH_ANSWER = Chunk("en", "en", 0, "Employees may carry over up to five unused days of annual leave into the "
                       "following year; the rest lapse on 31 December.", "en", "", language="en")


def test_with_translations_each_passage_is_reranked_against_the_question_in_its_language(embedded):
    chunks = [SPANISH_OFF_TOPIC, ENGLISH_ANSWER]
    queries = queries_by_language(SPANISH_QUESTION, chunks, {"en": ENGLISH_QUESTION})

    plain = embedded.rerank(SPANISH_QUESTION, chunks)
    translated = embedded.rerank(SPANISH_QUESTION, chunks, queries)

    assert queries == [SPANISH_QUESTION, ENGLISH_QUESTION]
    assert [r.index for r in plain] == [0, 1]  # the case: against the Spanish question, the Spanish words win
    assert [r.index for r in translated] == [1, 0]


def test_the_assistant_rerank_stage_scores_each_passage_in_its_language(embedded):
    nodes = [node_from_passage(Passage(n=i, chunk=c, score=1.0 / i))
             for i, c in enumerate([SPANISH_OFF_TOPIC, ENGLISH_ANSWER], start=1)]
    bundle = QueryBundle(SPANISH_QUESTION)

    plain = RerankStage(embedded, 20).postprocess_nodes(nodes, bundle)
    translated = RerankStage(embedded, 20, {"en": ENGLISH_QUESTION}).postprocess_nodes(nodes, bundle)

    assert [passage_from_node(n, 1).chunk.chunk_id for n in plain] == ["es", "en"]
    assert [passage_from_node(n, 1).chunk.chunk_id for n in translated] == ["en", "es"]


def test_a_passage_in_a_language_without_translation_is_reranked_against_the_question():
    chunks = [_chunk("a", "x", language="fr"), _chunk("b", "y"), _chunk("c", "z", language="en")]

    assert queries_by_language("q", chunks, {"en": "q-en"}) == ["q", "q", "q-en"]
    assert queries_by_language("q", chunks, {}) is None


def test_a_passage_longer_than_the_model_context_is_cut_not_refused(embedded):
    long_text = "Emperor penguins breed on the Antarctic sea ice during the polar winter. " * 300
    ranked = embedded.rerank("Where do penguins breed?", [_chunk("long", long_text), _chunk("x", "Tax deadlines.")])
    assert [r.index for r in ranked] == [0, 1]


def test_reciprocal_rank_fusion_keeps_an_agreed_first_and_gives_ties_to_the_reranker():
    assert [r.index for r in reciprocal_rank_fusion([0.9, 0.1, 0.5])] == [0, 2, 1]
    swapped = reciprocal_rank_fusion([0.2, 0.8])  # first stage says 0, reranker says 1: equal fused scores
    assert [r.index for r in swapped] == [1, 0]
    assert swapped[0].score == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))


def test_the_reranker_reads_the_title_when_the_chunk_does_not_open_with_it():
    assert passage_text(_chunk("a", "It binds nickel.", title="Urease")) == "Urease. It binds nickel."
    assert passage_text(_chunk("b", "Urease binds nickel.", title="Urease")) == "Urease binds nickel."


def test_a_missing_model_says_what_to_run(tmp_path):
    settings = load_assistant_settings(rerank="embedded", rerank_model_path=str(tmp_path / "none.gguf"),
                                       _env_file=None)
    with pytest.raises(RerankerUnavailable, match="make reranker") as raised:
        open_reranker(settings)
    assert "ENCLAVE_RERANK_MODEL_PATH" in str(raised.value)


# -- the service client ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def http_server(respond: Callable[[str, dict, dict], tuple[int, dict | str]]) -> Iterator[tuple[str, list]]:
    """A loopback HTTP server; respond(path, headers, body) -> (status, JSON body or text). Yields (base, requests)."""
    requests: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append((self.path, dict(self.headers), body))
            status, payload = respond(self.path, dict(self.headers), body)
            data = (json.dumps(payload) if isinstance(payload, dict) else payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_service_reranker_speaks_the_vllm_rerank_protocol_and_follows_its_order(embedded):
    """A stand-in for vLLM's /rerank: the documented request and response shapes, scored by the real nomic model."""

    def rerank_endpoint(path, headers, body):
        chunks = [_chunk(str(i), text) for i, text in enumerate(body["documents"])]
        ranked = embedded.rerank(body["query"], chunks)[: body["top_n"]]
        results = [{"index": r.index, "document": {"text": body["documents"][r.index]}, "relevance_score": r.score}
                   for r in ranked]
        return 200, {"id": "rerank-1", "model": body.get("model"), "usage": {"prompt_tokens": 1, "total_tokens": 1},
                     "results": results}

    chunks = [_chunk("t", "Tax payments are due in April."), _chunk("p", "Emperor penguins breed on sea ice.")]
    with http_server(rerank_endpoint) as (base, requests):
        reranker = ServiceReranker(f"{base}/rerank", model="BAAI/bge-reranker-v2-m3", api_key="k3y", timeout=30)
        try:
            ranked = reranker.rerank("Where do penguins breed?", chunks)
        finally:
            reranker.close()

    assert [r.index for r in ranked] == [1, 0]
    path, headers, body = requests[0]
    assert path == "/rerank"
    assert body == {"query": "Where do penguins breed?", "documents": [c.text for c in chunks], "top_n": 2,
                    "model": "BAAI/bge-reranker-v2-m3"}
    assert headers["Authorization"] == "Bearer k3y"


def test_service_reranker_asks_once_per_language_and_ranks_all_the_answers_together(embedded):
    def rerank_endpoint(path, headers, body):
        chunks = [_chunk(str(i), text) for i, text in enumerate(body["documents"])]
        return 200, {"results": [{"index": r.index, "relevance_score": float(r.score)}
                                 for r in embedded.rerank(body["query"], chunks)]}

    """The rerank API takes one query: one call per language, with that language's passages, merged by score."""

    chunks = [SPANISH_OFF_TOPIC, _chunk("es2", "El menú de la cafetería.", language="es"), ENGLISH_ANSWER]
    with http_server(rerank_endpoint) as (base, requests):
        reranker = ServiceReranker(f"{base}/rerank", timeout=30)
        try:
            ranked = reranker.rerank(SPANISH_QUESTION, chunks,
                                     queries_by_language(SPANISH_QUESTION, chunks, {"en": ENGLISH_QUESTION}))
        finally:
            reranker.close()

    assert [(body["query"], body["documents"]) for _, _, body in requests] == [
        (SPANISH_QUESTION, [SPANISH_OFF_TOPIC.text, "El menú de la cafetería."]),
        (ENGLISH_QUESTION, [ENGLISH_ANSWER.text]),
    ]
    assert sorted(r.index for r in ranked) == [0, 1, 2]
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_fault_a_service_that_is_down_is_a_clear_retrieval_error():
    reranker = ServiceReranker(f"http://127.0.0.1:{free_port()}/rerank", timeout=5)
    with pytest.raises(RerankerUnavailable, match="unreachable") as raised:
        reranker.rerank("q", [_chunk("a", "text")])
    reranker.close()
    assert "ENCLAVE_RERANK_URL" in str(raised.value) and "ENCLAVE_RERANK=off" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (500, {"error": {"message": "CUDA out of memory"}}, "answered 500"),
        (404, {"detail": "Not Found"}, "answered 404"),
        (200, {"data": [{"embedding": [0.1]}]}, "did not answer with rerank results"),
        (200, {"results": [{"index": 7, "relevance_score": 0.5}]}, "did not rank each passage once"),
    ],
)
def test_fault_a_failing_or_wrong_service_is_a_clear_retrieval_error(status, payload, expected):
    with http_server(lambda path, headers, body: (status, payload)) as (base, _):
        reranker = ServiceReranker(f"{base}/v1/rerank", timeout=5)
        with pytest.raises(RerankerUnavailable, match=expected):
            reranker.rerank("q", [_chunk("a", "one"), _chunk("b", "two")])
        reranker.close()


def test_fault_a_service_slower_than_the_timeout_is_reported_unreachable():
    def slow(path, headers, body):
        time.sleep(1)
        return 200, {"results": []}

    with http_server(slow) as (base, _):
        reranker = ServiceReranker(f"{base}/rerank", timeout=0.3)
        with pytest.raises(RerankerUnavailable, match="unreachable.*Timeout"):
            reranker.rerank("q", [_chunk("a", "one")])
        reranker.close()


def test_cli_search_with_the_service_down_exits_2_with_one_line(ingested_data_dir):
    env = {"ENCLAVE_DATA_DIR": str(ingested_data_dir), "ENCLAVE_RERANK": "service",
           "ENCLAVE_RERANK_URL": f"http://127.0.0.1:{free_port()}/rerank"}
    result = invoke("search", "bottles of water delivered", env=env)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert "re-ranking service" in lines[-1] and "unreachable" in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


# -- settings and wiring -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"rerank": "cross-encoder"}, "ENCLAVE_RERANK:"),
        ({"rerank": "service"}, "ENCLAVE_RERANK_URL"),
        ({"rerank": "service", "rerank_url": "reranker:8000/rerank"}, "ENCLAVE_RERANK_URL"),
        ({"rerank_candidates": 1}, "ENCLAVE_RERANK_CANDIDATES"),
        ({"rerank_threads": 0}, "ENCLAVE_RERANK_THREADS"),
        ({"rerank_timeout": 0}, "ENCLAVE_RERANK_TIMEOUT"),
    ],
)
def test_a_bad_rerank_setting_is_refused_naming_it(overrides, named):
    with pytest.raises(AssistantError, match=named):
        load_assistant_settings(**overrides, _env_file=None)


def test_rerank_is_off_by_default_and_the_model_defaults_to_the_packaged_file(tmp_path, monkeypatch):
    monkeypatch.delenv("ENCLAVE_RERANK", raising=False)
    monkeypatch.delenv("ENCLAVE_RERANK_MODEL_PATH", raising=False)
    monkeypatch.setenv("ENCLAVE_MODELS_DIR", str(tmp_path))
    settings = load_assistant_settings(_env_file=None)
    assert settings.rerank == "off" and open_reranker(settings) is None
    assert settings.rerank_gguf_path == tmp_path / "nomic-embed-text-v1.5.f16.gguf"
    chosen = load_assistant_settings(rerank_model_path=str(tmp_path / "other.gguf"), _env_file=None)
    assert chosen.rerank_gguf_path == tmp_path / "other.gguf"


def test_cli_bad_rerank_setting_fails_at_start_naming_it(tmp_path):
    result = invoke("search", "anything", env={"ENCLAVE_DATA_DIR": str(tmp_path), "ENCLAVE_RERANK": "maybe"})
    assert result.exit_code == 2
    assert "ENCLAVE_RERANK" in result.stderr and "Traceback" not in result.stderr


def test_open_enclave_builds_the_configured_reranker_and_keeps_permissions(ingested_data_dir, reranker_model_path):
    enclave = open_enclave(
        load_settings(data_dir=ingested_data_dir, _env_file=None),
        load_assistant_settings(rerank="embedded", rerank_model_path=str(reranker_model_path),
                                rerank_candidates=5, _env_file=None),
    )
    try:
        assert isinstance(enclave.assistant.retriever.reranker, EmbeddedReranker)
        hits = enclave.assistant.search("How many bottles of water were delivered?", User("alice"), k=3)
        assert hits[0].chunk.document_name == "memo-supply-delivery.pdf"
        assert enclave.assistant.search("bottles of water delivered", User("mallory", groups=("contractors",))) == []
    finally:
        enclave.close()


def _chunk(chunk_id: str, text: str, title: str = "", language: str | None = None) -> Chunk:
    return Chunk(chunk_id=chunk_id, document_id=chunk_id, index=0, text=text, document_name=chunk_id, title=title,
                 language=language)
