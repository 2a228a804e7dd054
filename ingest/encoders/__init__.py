"""Encoders: texts into the vectors the store searches, computed locally.

dense         sentence-transformers embeddings through one backend (torch, ONNX Runtime, OpenVINO)
dense_export  the ONNX / OpenVINO copies of the model, exported once into a cache, and the runtimes that run them
sparse        BM25-style lexical vectors: tokenise, stem, saturate, hash
stopwords     the stop-word lists the sparse encoder knows

The dense encoder loads numpy and its runtime, so it loads on first use (PEP 562), as in `ingest`.
"""

from ingest.encoders.sparse import SparseEncoder

_LAZY = {
    "BACKENDS": "ingest.encoders.dense_export",
    "BACKEND_PACKAGES": "ingest.encoders.dense_export",
    "Embedder": "ingest.encoders.dense",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest.encoders' has no attribute {name!r}")


__all__ = ["BACKENDS", "BACKEND_PACKAGES", "Embedder", "SparseEncoder"]
