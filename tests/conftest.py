"""Shared fixtures: real parts (packaged embedding model, embedded Qdrant, real files, a real LLM server)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from ingest.offline import enforce_offline

enforce_offline()

from shared_data import BAD, DOCS, SCIFACT, SHARED  # noqa: F401  (re-exported for tests)

pytest_plugins = ["small_disks", "postgres", "databases", "streamlit_apps", "clocks", "api_servers", "traces", "queues"]

# The longest test files first: with the suite split over two processes a file at a time, the one that starts last
# decides when the run ends (tests/test_egress.py ingests the whole shared library under strace).
LONGEST_FIRST = ("test_egress.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)  # stable: the rest keep their order


class SharedModels:
    """Open the components, an Ingestor or an Enclave exactly as the app does (`ingest.open_components`,
    `ingest.open_ingestor`, `assistant.open_enclave`), except that an embedding model this test session has loaded
    already with the same settings (model folder, backend, batch size, export cache) is handed over instead of loaded
    again: loading one takes seconds, and most tests that open a store of their own are not about loading it. Each
    still gets its own store, registry, parse workers, ingestion log and LLM client."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str, int, str], object] = {}

    def components(self, settings):
        from ingest import open_components

        with self._sharing():
            return open_components(settings)

    def ingestor(self, settings, **options):
        from ingest import open_ingestor

        with self._sharing():
            return open_ingestor(settings, **options)

    def enclave(self, ingest_settings, assistant_settings, **options):
        from assistant import open_enclave

        with self._sharing():
            return open_enclave(ingest_settings, assistant_settings, **options)

    @contextmanager
    def lent(self) -> Iterator[None]:
        """Inside the block, whatever opens components (an `enclave` command run in-process, tests/enclave_cli.py)
        gets the embedding model this session has loaded already with its settings, as `components` does."""
        with self._sharing():
            yield

    @contextmanager
    def _sharing(self) -> Iterator[None]:
        """While opening: `open_components` builds its Embedder through `load`. Only for the call, so no other test
        (in whichever process it runs) meets a shared model it did not ask for."""
        import ingest.components

        real = ingest.components.Embedder

        def load(model_path: str, batch_size: int = 32, backend: str = "torch", cache_dir=None):
            key = (str(model_path), backend, batch_size, str(cache_dir))
            if key not in self._loaded:
                self._loaded[key] = real(model_path, batch_size=batch_size, backend=backend, cache_dir=cache_dir)
            return self._loaded[key]

        ingest.components.Embedder = load
        try:
            yield
        finally:
            ingest.components.Embedder = real


@pytest.fixture(scope="session")
def shared_models() -> SharedModels:
    return SharedModels()


@pytest.fixture(scope="session")
def embedder():
    from ingest.encoders.dense import Embedder
    from ingest.settings import packaged_embedding_model

    return Embedder(packaged_embedding_model())


@pytest.fixture(scope="session")
def reranker_model_path() -> Path:
    """The packaged re-ranking model, nomic-embed-text-v1.5 (`make reranker`, which `make test` runs first)."""
    from assistant.settings import load_assistant_settings

    path = load_assistant_settings(_env_file=None).rerank_gguf_path
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make reranker` (or set ENCLAVE_RERANK_MODEL_PATH)")
    return path


@pytest.fixture
def ingest_settings(tmp_path):
    from ingest.settings import load_settings

    return load_settings(data_dir=tmp_path / "data", _env_file=None)


# Small, fast documents with known content, ingested once per session.
SAMPLE_DOCS = ("memo-supply-delivery.pdf", "sample-presentation.pptx", "udhr-english-spanish.html", "family-day.eml")


# The test LLM servers compute on one thread. The suite keeps every core busy (two pytest processes, their models,
# parse workers and subprocesses), and llama.cpp's threads wait for each other at every step of every token: one
# that is not running holds the other up. Measured here with the cores busy: SmolLM2 wrote 3.7 tokens/s on two
# threads and 31 on one; Qwen2.5-Coder-1.5B wrote 0.4-0.6 tokens/s on two and 3.5-4.2 on one, and read its prompts
# faster on one too (8-10 tokens/s against 5.5-6). A server the app starts keeps its default (ENCLAVE_LLM_THREADS).
LLM_TEST_THREADS = 1


@pytest.fixture(scope="session")
def llm_server():
    """A real llama.cpp OpenAI-compatible server on a free loopback port, with the tiny packaged SmolLM2."""
    from assistant.llm import LlamaCppServer, find_free_port, packaged_test_model
    from ui.settings import load_ui_settings

    settings = load_ui_settings(llm_model_path=packaged_test_model(), llm_port=find_free_port(),
                                llm_threads=LLM_TEST_THREADS, _env_file=None)
    with LlamaCppServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
def answer_llm_server():
    """The packaged chat model the app answers with (Qwen2.5-Coder-1.5B, `make model`), on a free loopback port: for
    the few tests about answer quality, which the tiny SmolLM2 cannot carry. Slow on a CPU: use sparingly."""
    from assistant.llm import LlamaCppServer, find_free_port
    from ui.settings import load_ui_settings

    settings = load_ui_settings(llm_port=find_free_port(), llm_threads=LLM_TEST_THREADS, _env_file=None)
    assert settings.gguf_path.is_file(), f"{settings.gguf_path} is missing: run `make model` (make test does)"
    with LlamaCppServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
def ingested_data_dir(tmp_path_factory, shared_models):
    """A data dir holding SAMPLE_DOCS, ingested through the real pipeline. The store is closed afterwards."""
    from ingest.settings import load_settings

    data_dir = tmp_path_factory.mktemp("enclave") / "data"
    ingestor = shared_models.ingestor(load_settings(data_dir=data_dir, _env_file=None))
    try:
        results = ingestor.ingest([DOCS / name for name in SAMPLE_DOCS])
    finally:
        ingestor.close()
    assert [r.status for r in results] == ["added"] * len(SAMPLE_DOCS), results
    return data_dir


@pytest.fixture
def enclave_env(ingested_data_dir, llm_server, tmp_path):
    """Environment for a CLI subprocess pointed at a copy of the ingested data and the test LLM server. A copy: every
    question and search is kept (the audit trail, saved conversations), and a test that lists them must find only its
    own, whichever tests ran before it in this process."""
    import os
    import shutil

    data = tmp_path / "ingested"
    shutil.copytree(ingested_data_dir, data)
    return dict(os.environ, ENCLAVE_DATA_DIR=str(data), ENCLAVE_LLM_BASE_URL=llm_server.base_url)


@pytest.fixture(scope="session")
def parsers() -> None:
    """Parse in this process as the parse workers do (ingest.pipeline.worker.warm_up: offline, the light spaCy
    pipeline, the Word and HTML body-text shortcuts). Without it unstructured tags sentences with its full pipeline:
    the trustee handbook took 47 s instead of 6 s, and the tests would check a configuration the product never runs."""
    from ingest.pipeline.worker import warm_up

    warm_up()


@pytest.fixture
def unstructured_restored(monkeypatch):
    """Whatever the test patches in unstructured (install_patches, or a name of its own among those) is as it was
    after it, so the tests after it in this process parse as they would have."""
    import importlib

    from ingest.parsing import sentences
    from ingest.parsing.library_patches import PATCHED

    for module_name, name in PATCHED:
        module = importlib.import_module(module_name)
        monkeypatch.setattr(module, name, getattr(module, name))
    monkeypatch.setattr(sentences, "_batches_enabled", sentences._batches_enabled)


@pytest.fixture(scope="session")
def parsed_documents(parsers):
    """parse(path) → its ParsedDocument, or the DocumentError it raised; each shared file is parsed once a session."""
    from ingest.errors import DocumentError
    from ingest.parsing.partitioning import parse_file

    cache: dict = {}

    def parse(path):
        key = str(path)
        if key not in cache:
            try:
                cache[key] = parse_file(key)
            except DocumentError as exc:
                cache[key] = exc
        return cache[key]

    return parse


@pytest.fixture(scope="session")
def chunking_options():
    """The chunk budget the app uses by default, counted with the packaged embedding model's tokenizer."""
    from ingest.parsing.chunking import ChunkingOptions
    from ingest.settings import packaged_embedding_model

    return ChunkingOptions(tokenizer_path=packaged_embedding_model(), max_tokens=200, overlap_tokens=32)
