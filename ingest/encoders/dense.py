"""Dense embeddings with the packaged sentence-transformers model, loaded from a local path only.

Backends: "torch" runs the model as shipped. The others run a copy exported offline from the same folder, once,
into a cache folder: "onnx" / "onnx-int8" (ONNX Runtime, fp32 / dynamic int8) and "openvino" / "openvino-int8"
(OpenVINO, OpenVINO's default precision / static int8). Every backend returns L2-normalised vectors that are
interchangeable with the torch ones (see bench/embedding.py for speed, cosine and nDCG@10 of each).
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ingest.encoders.dense_export import (
    BACKEND_PACKAGES,
    BACKENDS,
    INPUTS,
    block_openvino_telemetry,
    exported_model,
    max_tokens_of,
    open_runtime,
    pooling_mode,
    require_packages,
)
from ingest.errors import IngestError, SettingsError
from ingest.settings import default_cache_dir

__all__ = ["BACKENDS", "BACKEND_PACKAGES", "Embedder"]


class Embedder:
    """Encodes texts with the model in `model_path` through one backend. Thread-safe for encode calls."""

    def __init__(
        self, model_path: str, batch_size: int = 32, backend: str = "torch", cache_dir: str | Path | None = None
    ) -> None:
        if backend not in BACKENDS:
            raise SettingsError(f"ENCLAVE_EMBEDDING_BACKEND: unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.batch_size = batch_size
        self._lock = threading.Lock()
        if backend == "torch":
            self._load_torch(model_path)
        else:
            self._load_exported(model_path, Path(cache_dir) if cache_dir else default_cache_dir())
        self._counter = _token_counter(self.tokenizer)

    # -- loading --------------------------------------------------------------------------------------------

    def _load_torch(self, model_path: str) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"ENCLAVE_EMBEDDING_MODEL: cannot load a sentence-transformers model from {model_path!r} ({exc}); "
                "point it at a local model folder or leave it empty for the packaged model"
            ) from exc
        self.tokenizer = model.tokenizer
        max_tokens, dimension = model.max_seq_length, model.get_embedding_dimension()
        if max_tokens is None or dimension is None:
            raise SettingsError(
                f"ENCLAVE_EMBEDDING_MODEL: the model at {model_path!r} does not state its input length or vector size: "
                "use a sentence-transformers model that does, or leave it empty for the packaged model"
            )
        self.max_tokens, self.dimension = int(max_tokens), int(dimension)

        def run(texts: list[str]) -> np.ndarray:
            return model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)

        self._encode: Callable[[list[str]], np.ndarray] = run

    def _load_exported(self, model_path: str, cache_dir: Path) -> None:
        require_packages(self.backend)
        if self.backend.startswith("openvino"):
            block_openvino_telemetry()
        source = Path(model_path)
        pooling = pooling_mode(source)  # refuses models this path cannot reproduce, before any export
        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"ENCLAVE_EMBEDDING_MODEL: no usable tokenizer in {model_path!r} ({exc}); "
                "point it at a sentence-transformers model folder or leave it empty for the packaged model"
            ) from exc
        self.max_tokens = max_tokens_of(source, self.tokenizer)
        folder = exported_model(source, self.backend, pooling, cache_dir)
        try:
            run = open_runtime(self.backend, folder)
        except Exception as exc:  # noqa: BLE001 - any load failure of a cached export means: export again
            print(f"the cached {self.backend} export in {folder} does not load ({exc}); exporting again", file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)
            folder = exported_model(source, self.backend, pooling, cache_dir)
            try:
                run = open_runtime(self.backend, folder)
            except Exception as again:  # noqa: BLE001 - wrapped with what to do next
                raise IngestError(
                    f"the {self.backend} runtime cannot load a fresh export in {folder} ({again}); "
                    "set ENCLAVE_EMBEDDING_BACKEND=torch"
                ) from again
        self._run = run
        self._encode = self._encode_exported
        self.dimension = int(self._encode(["dimension probe"]).shape[1])

    def _encode_exported(self, texts: list[str]) -> np.ndarray:
        # Longest first, as sentence-transformers does, so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]

        def feeds() -> Iterator[dict]:  # tokenized one batch ahead of the model, not all at once
            for idx in batches:
                enc = self.tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_tokens,
                    return_tensors="np",
                )
                yield {name: enc[name].astype(np.int64) for name in INPUTS if name in enc}

        outputs = self._run(feeds())
        out = np.empty((len(texts), outputs[0].shape[1]), dtype=np.float32)
        for idx, vectors in zip(batches, outputs):
            out[idx] = vectors
        # The graph normalises already; again here so rounding in low precision never leaves a norm off 1.
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    # -- public API -----------------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for this text, without the [CLS]/[SEP] specials. Safe beside an encode call in
        another thread: it uses a copy of the tokenizer that nothing reconfigures (the encoder's own sets padding and
        truncation on each call, and a call meeting another thread's settings returns garbage)."""
        counter = self._counter
        if counter is None:
            with self._lock:
                return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])
        return len(counter.encode(text, add_special_tokens=False).ids)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._encode(list(texts))
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _token_counter(tokenizer: Any) -> Any:
    """A private copy of a fast tokenizer's Rust tokenizer that counts every token (no truncation, no padding);
    None for a slow tokenizer, which has none."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter
