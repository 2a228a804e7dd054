"""Encoders: texts into the vectors the store searches, computed locally.

dense         sentence-transformers embeddings through one backend (torch, ONNX Runtime, OpenVINO)
dense_export  the ONNX / OpenVINO copies of the model, exported once into a cache, and the runtimes that run them
sparse        BM25-style lexical vectors: tokenise, stem, saturate, hash
stopwords     the stop-word lists the sparse encoder knows

The dense encoder loads numpy and its runtime, so it loads on first use (PEP 562), as in `ingest`.
"""

from typing import TYPE_CHECKING

from ingest.encoders.sparse import SparseEncoder

if TYPE_CHECKING:  # what the lazy names below are, for the type checker
    from ingest.encoders.dense import Embedder
    from ingest.encoders.dense_export import BACKEND_PACKAGES, BACKENDS

_LAZY = {
    "BACKENDS": "ingest.encoders.dense_export",
    "BACKEND_PACKAGES": "ingest.encoders.dense_export",
    "Embedder": "ingest.encoders.dense",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest.encoders' has no attribute {name!r}")


__all__ = ["BACKENDS", "BACKEND_PACKAGES", "Embedder", "SparseEncoder"]
