"""BEIR evaluation through the product's ingest and retrieval: a tiny dataset with known answers, real models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from assistant.evaluation import EvaluationError, QueryProgress, evaluate_beir
from assistant.evaluation.retrieval import rank_documents
from assistant.models import Passage
from enclave_cli import invoke
from ingest import Chunk, load_settings

# Twelve one-topic documents; each query below asks about exactly one of them in other words.
CORPUS = {
    "d01": ("Emperor penguins", "Emperor penguins breed on the Antarctic sea ice during the polar winter."),
    "d02": ("Sourdough bread", "Sourdough bread rises with a starter of wild yeast and lactic acid bacteria."),
    "d03": ("Volcanic eruptions", "Magma reaching the surface of a volcano erupts as lava, ash and gas."),
    "d04": ("Chess openings", "The Sicilian Defence is a chess opening that answers 1.e4 with c5."),
    "d05": ("Honey bees", "Honey bees communicate the direction of flowers to the hive with a waggle dance."),
    "d06": ("Tidal forces", "Ocean tides are caused by the gravitational pull of the Moon and the Sun."),
    "d07": ("Violin making", "Stradivari built violins from spruce and maple in Cremona."),
    "d08": ("Coffee roasting", "Roasting green coffee beans develops aroma through the Maillard reaction."),
    "d09": ("Glacier retreat", "Mountain glaciers in the Alps have lost much of their ice mass since 1850."),
    "d10": ("Marathon running", "Marathon runners deplete muscle glycogen around the thirtieth kilometre."),
    "d11": ("Tax deadlines", "Quarterly estimated tax payments are due in April, June, September and January."),
    "d12": ("Lighthouses", "A lighthouse warns ships of dangerous rocks with a rotating beam of light."),
}
QUERIES = {
    "q1": ("Where do emperor penguins raise their chicks in winter?", "d01"),
    "q2": ("How do honey bees tell the hive where the flowers are?", "d05"),
    "q3": ("What causes the ocean tides?", "d06"),
    "q4": ("Why do marathon runners hit the wall near 30 km?", "d10"),
}


def write_dataset(folder: Path, corpus: dict[str, tuple[str, str]] = CORPUS) -> Path:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as fh:
        for doc_id, (title, text) in corpus.items():
            fh.write(json.dumps({"_id": doc_id, "title": title, "text": text, "metadata": {}}) + "\n")
    with (folder / "queries.jsonl").open("w") as fh:
        for query_id, (text, _) in QUERIES.items():
            fh.write(json.dumps({"_id": query_id, "text": text, "metadata": {}}) + "\n")
        fh.write(json.dumps({"_id": "q-unjudged", "text": "an unjudged query", "metadata": {}}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, (_, d) in QUERIES.items()]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "tiny-beir")


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path / "data", _env_file=None)


def run_cli(*args: str, data_dir: Path, **settings: str) -> Result:
    """`enclave eval beir ARGS` in this process (tests/enclave_cli.py), with these settings in its environment."""
    return invoke("eval", "beir", *args, env={"ENCLAVE_DATA_DIR": str(data_dir), **settings})


def test_cli_prints_the_figures_as_json_and_finds_every_answer_first(dataset, tmp_path):
    result = run_cli(str(dataset), "--json", data_dir=tmp_path / "data")
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"ndcg@10", "recall@100", "mrr@10", "queries_per_s"} <= set(figures)
    for name in ("ndcg@10", "recall@100", "mrr@10"):
        assert 0.0 <= figures[name] <= 1.0
    assert figures["ndcg@10"] == 1.0 and figures["mrr@10"] == 1.0  # one obvious answer per query
    assert figures["queries_per_s"] > 0
    assert figures["queries"] == 4  # judged queries only
    assert (tmp_path / "data" / "eval" / "tiny-beir" / "qdrant" / "beir-tiny-beir").is_dir()  # its own collection


def test_cli_prints_a_table_for_people(dataset, tmp_path):
    result = run_cli(str(dataset), "--method", "sparse", data_dir=tmp_path / "data")
    assert result.exit_code == 0, result.stderr
    assert "nDCG@10" in result.stdout and "Recall@100" in result.stdout and "queries/s" in result.stdout
    assert "method sparse" in result.stdout


@pytest.mark.parametrize(
    ("method", "fusion"),
    [("dense", None), ("sparse", None), ("hybrid", None), ("hybrid", "rrf"), ("hybrid", "dbsf")],
)
def test_every_method_ranks_the_answer_first_on_an_easy_dataset(dataset, settings, method, fusion):
    report = evaluate_beir(dataset, method=method, settings=settings, fusion=fusion)
    if method != "hybrid":
        assert report.fusion == ""
    else:
        assert report.fusion == fusion if fusion else report.fusion in ("rrf", "dbsf")  # None: the store's own
    assert report.ndcg_at_10 == 1.0
    assert report.recall_at_100 == 1.0
    assert report.queries == 4 and report.documents == 12


def test_second_run_reuses_the_stored_index_without_ingesting(dataset, settings):
    first_events: list = []
    first = evaluate_beir(dataset, settings=settings, progress=first_events.append)
    assert not first.index_reused
    assert any(getattr(e, "kind", "") == "chunks" for e in first_events)

    second_events: list = []
    second = evaluate_beir(dataset, settings=settings, progress=second_events.append)
    assert second.index_reused
    assert all(isinstance(e, QueryProgress) for e in second_events)  # no ingest event at all
    assert [e.done for e in second_events] == [1, 2, 3, 4]
    assert second.ndcg_at_10 == first.ndcg_at_10


def test_a_changed_corpus_reingests_only_the_changed_document(dataset, settings):
    evaluate_beir(dataset, settings=settings)
    changed = dict(CORPUS, d12=("Lighthouses", "A lighthouse keeper trimmed the lamp's wick every evening."))
    write_dataset(dataset, changed)
    events: list = []
    report = evaluate_beir(dataset, settings=settings, progress=events.append)
    statuses = [e.result.status for e in events if getattr(e, "kind", "") == "file"]
    assert statuses.count("updated") == 1 and statuses.count("unchanged") == 11
    assert not report.index_reused


def test_the_evaluation_keeps_its_index_out_of_the_configured_database(dataset, tmp_path, postgres_database):
    """Its registry in the user's database would list its corpus as their documents, and a changed corpus removes
    every document that registry lists."""
    from sqlalchemy import inspect

    from ingest import open_database

    settings = load_settings(data_dir=tmp_path / "data", database_url=postgres_database, _env_file=None)
    evaluate_beir(dataset, settings=settings)

    database = open_database(settings)
    try:
        assert not inspect(database.engine).has_table("documents")
    finally:
        database.close()
    assert (tmp_path / "data" / "eval" / "tiny-beir" / "enclave.db").is_file()


def test_unknown_split_is_an_evaluation_error(dataset, settings):
    with pytest.raises(EvaluationError, match="train"):
        evaluate_beir(dataset, split="train", settings=settings)


def test_cli_bad_split_exits_2_with_one_line(dataset, tmp_path):
    result = run_cli(str(dataset), "--split", "dev", data_dir=tmp_path / "data")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "dev" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_cli_rerank_runs_hybrid_then_the_embedded_reranker(dataset, tmp_path, reranker_model_path):
    result = run_cli(str(dataset), "--method", "rerank", "--limit", "3", "--json", data_dir=tmp_path / "data",
                     ENCLAVE_RERANK="off", ENCLAVE_RERANK_MODEL_PATH=str(reranker_model_path),
                     ENCLAVE_RERANK_CANDIDATES="8")
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["method"] == "rerank" and figures["fusion"] in ("rrf", "dbsf")  # the hybrid first stage
    assert "nomic-embed-text-v1.5" in figures["reranker"] and figures["rerank_candidates"] == 8
    assert figures["ndcg@10"] == 1.0 and figures["recall@100"] == 1.0
    assert figures["queries"] == 3


def test_cli_rerank_with_the_model_missing_exits_2_saying_what_to_run(dataset, tmp_path):
    result = run_cli(str(dataset), "--method", "rerank", data_dir=tmp_path / "data",
                     ENCLAVE_RERANK_MODEL_PATH=str(tmp_path / "missing.gguf"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "make reranker" in lines[0], result.stderr


def test_limit_runs_only_the_first_judged_queries(dataset, settings):
    report = evaluate_beir(dataset, settings=settings, limit=2)
    assert report.queries == 2 and report.ndcg_at_10 == 1.0  # the metrics average over those two only


def test_cli_missing_folder_exits_2_with_one_line(tmp_path):
    result = run_cli(str(tmp_path / "nowhere"), data_dir=tmp_path / "data")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nowhere" in lines[0], result.stderr


def _passage(n: int, document: str, score: float) -> Passage:
    chunk = Chunk(chunk_id=f"c{n}", document_id=document, index=n, text="", document_name=document, title="")
    return Passage(n=n, chunk=chunk, score=score)


def test_a_document_ranks_by_its_best_chunk_and_the_query_itself_is_dropped():
    passages = [_passage(1, "a", 0.9), _passage(2, "q7", 0.8), _passage(3, "b", 0.7), _passage(4, "a", 0.6)]
    ranked = rank_documents(passages, exclude="q7")
    assert sorted(ranked, key=ranked.get, reverse=True) == ["a", "b"]


def test_the_index_fingerprint_reads_every_module_of_ingest_wherever_it_lives(tmp_path, monkeypatch):
    import shutil

    import ingest
    from assistant.evaluation.retrieval import hash_index_code

    copy = tmp_path / "ingest"
    shutil.copytree(Path(ingest.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(ingest, "__file__", str(copy / "__init__.py"))
    before = hash_index_code()
    assert hash_index_code() == before

    inner = next(path for path in sorted(copy.rglob("*.py")) if path.parent != copy)  # in a sub-package
    inner.write_text(inner.read_text() + "\n# edited\n")
    edited = hash_index_code()
    assert edited != before

    inner.rename(copy / "moved.py")  # a module that moves changes the fingerprint, and breaks nothing
    assert hash_index_code() not in (before, edited)
