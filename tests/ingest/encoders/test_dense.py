"""Every embedding backend loads offline from the packaged model and gives vectors interchangeable with torch fp32."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ingest.encoders.dense import BACKEND_PACKAGES, BACKENDS, Embedder
from ingest.encoders.dense_export import _is_complete as is_complete
from ingest.encoders.dense_export import cache_key
from ingest.errors import SettingsError
from ingest.settings import default_cache_dir, load_settings, packaged_embedding_model
from shared_data import SCIFACT

ROOT = Path(__file__).resolve().parents[3]
EXPORTED = [b for b in BACKENDS if b != "torch"]
ADOPTED_DEFAULT = "openvino-int8"  # bench/embedding.py: fastest backend within 0.005 nDCG@10 of torch fp32 on SciFact


def real_texts() -> list[str]:
    """Six SciFact abstracts (long: cut at the model's window) and two short claims, as the pipeline embeds them."""
    texts = []
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(f"{row['title']} {row['text']}")
            if len(texts) == 6:
                break
    return texts + ["0-dimensional biomaterials lack inductive properties.", "Aspirin lowers the risk of colon cancer."]


TEXTS = real_texts()


@pytest.fixture(scope="session")
def xdg_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(scope="session")
def export_cache(xdg_cache):
    """One export per backend per test session, shared by every test here (laid out as under $XDG_CACHE_HOME).

    The adopted default's export is the one the app (and every test that opens a store) runs on this machine: when
    the user's cache holds it complete under the same key (same model files, recipe and library versions), it is
    copied in rather than made again, so these tests check that very export; NNCF's int8 calibration takes a minute
    or more here. The other backends are exported afresh."""
    cache = xdg_cache / "enclave" / "embeddings"
    name = cache_key(Path(packaged_embedding_model()), ADOPTED_DEFAULT)
    if is_complete(default_cache_dir() / name):
        shutil.copytree(default_cache_dir() / name, cache / name)
    return cache


@pytest.fixture(scope="session")
def torch_vectors(embedder) -> np.ndarray:
    return np.array(embedder.embed_documents(TEXTS))


_loaded: dict[str, Embedder] = {}


def exported_embedder(backend: str, cache) -> Embedder:
    missing = [name for name in BACKEND_PACKAGES[backend] if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"backend {backend} needs {', '.join(missing)}, which is not installed")
    if backend not in _loaded:
        _loaded[backend] = Embedder(packaged_embedding_model(), backend=backend, cache_dir=cache)
    return _loaded[backend]


@pytest.mark.parametrize("backend", EXPORTED)
def test_backend_vectors_are_interchangeable_with_torch_fp32(backend, export_cache, embedder, torch_vectors):
    other = exported_embedder(backend, export_cache)
    vectors = np.array(other.embed_documents(TEXTS))
    assert vectors.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.min() >= 0.99, cosines
    assert (other.dimension, other.max_tokens) == (embedder.dimension, embedder.max_tokens)
    assert other.count_tokens(TEXTS[0]) == embedder.count_tokens(TEXTS[0])
    assert np.dot(other.embed_query(TEXTS[-1]), torch_vectors[-1]) >= 0.99


def test_an_export_is_made_once_then_reused(export_cache, capfd):
    exported_embedder("onnx", export_cache)
    capfd.readouterr()
    again = Embedder(packaged_embedding_model(), backend="onnx", cache_dir=export_cache)
    assert "exporting" not in capfd.readouterr().err
    assert again.embed_documents([]) == []


def copy_of_export(backend: str, cache, target: Path) -> Path:
    """The session's export of this backend, copied into a cache folder of the test's own (to damage it there)."""
    exported_embedder(backend, cache)
    name = cache_key(Path(packaged_embedding_model()), backend)
    return Path(shutil.copytree(cache / name, target / name))


def test_a_damaged_export_is_detected_and_rebuilt(tmp_path, export_cache, torch_vectors, capfd):
    copy_of_export("onnx", export_cache, tmp_path)
    (model_file,) = tmp_path.glob("*/model.onnx")
    with model_file.open("r+b") as fh:  # a crash or a full disk mid-copy: the file is cut short
        fh.truncate(model_file.stat().st_size // 2)
    capfd.readouterr()
    rebuilt = Embedder(packaged_embedding_model(), backend="onnx", cache_dir=tmp_path)
    assert "incomplete; exporting again" in capfd.readouterr().err
    assert np.sum(np.array(rebuilt.embed_documents(TEXTS)) * torch_vectors, axis=1).min() >= 0.999


def test_a_leftover_partial_export_without_manifest_is_redone(tmp_path, export_cache, capfd):
    folder = copy_of_export("onnx", export_cache, tmp_path)
    first = exported_embedder("onnx", export_cache)
    (folder / "manifest.json").unlink()  # the manifest is written last: without it the export never finished
    capfd.readouterr()
    second = Embedder(packaged_embedding_model(), backend="onnx", cache_dir=tmp_path)
    assert "exporting again" in capfd.readouterr().err
    assert np.allclose(second.embed_documents(TEXTS[-1:]), first.embed_documents(TEXTS[-1:]), atol=1e-5)


def test_concurrent_calls_give_the_same_vectors_as_serial_ones(export_cache):
    other = exported_embedder("onnx", export_cache)
    serial = np.array(other.embed_documents(TEXTS))
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = np.array(other.embed_documents(TEXTS[i % 3 :]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, vectors in results.items():
        assert np.allclose(vectors, serial[i % 3 :], atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", ADOPTED_DEFAULT])
def test_counting_tokens_while_another_thread_embeds_is_safe(backend, export_cache, embedder):
    # The ingest pipeline counts a chunk's header tokens while the writer thread embeds the previous batch.
    other = embedder if backend == "torch" else exported_embedder(backend, export_cache)
    serial = np.array(other.embed_documents(TEXTS))
    counts = [other.count_tokens(t) for t in TEXTS]
    errors: list[BaseException] = []
    embedded: list[np.ndarray] = []

    def embed() -> None:
        try:
            for _ in range(8):
                embedded.append(np.array(other.embed_documents(TEXTS)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    thread = threading.Thread(target=embed)
    thread.start()
    counted = []
    while thread.is_alive():
        counted.append([other.count_tokens(t) for t in TEXTS])
    thread.join()

    assert errors == []
    assert all(np.allclose(vectors, serial, atol=1e-5) for vectors in embedded)
    assert counted and all(c == counts for c in counted)


def test_an_invalid_backend_setting_fails_at_load_naming_it(monkeypatch):
    monkeypatch.setenv("ENCLAVE_EMBEDDING_BACKEND", "tensorflow")
    with pytest.raises(SettingsError, match="ENCLAVE_EMBEDDING_BACKEND.*onnx-int8"):
        load_settings(_env_file=None)


def test_an_unknown_backend_is_refused_by_the_embedder_too():
    with pytest.raises(SettingsError, match="ENCLAVE_EMBEDDING_BACKEND"):
        Embedder(packaged_embedding_model(), backend="tpu")


def test_the_default_backend_is_the_adopted_one_and_the_pipeline_uses_it(tmp_path, monkeypatch, xdg_cache, export_cache):
    from ingest.pipeline.ingestor import open_ingestor

    monkeypatch.delenv("ENCLAVE_EMBEDDING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg_cache))  # the session's exports, not the user's cache
    settings = load_settings(data_dir=tmp_path / "data", _env_file=None)
    assert settings.embedding_backend == ADOPTED_DEFAULT
    assert settings.embedding_cache_dir == export_cache
    ingestor = open_ingestor(settings)
    try:
        assert ingestor.embedder.backend == ADOPTED_DEFAULT
    finally:
        ingestor.close()


def test_openvino_sends_no_telemetry(export_cache):
    # `import openvino` and NNCF report usage to an analytics service unless their telemetry package is missing.
    pytest.importorskip("openvino", reason="the openvino backends need openvino")
    exported_embedder("openvino", export_cache)  # export in this process; the check runs in a fresh one
    code = (
        "import sys; from ingest.encoders.dense import Embedder; from ingest.settings import packaged_embedding_model\n"
        f"Embedder(packaged_embedding_model(), backend='openvino', cache_dir={str(export_cache)!r})\n"
        "import openvino.tools.ovc.telemetry_utils as t\n"
        "print(sys.modules['openvino_telemetry'] is None, t.tm.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.stdout.split() == ["True", "openvino.tools.ovc.telemetry_stub"], done.stderr
