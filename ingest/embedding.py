"""Dense embeddings with the packaged sentence-transformers model, loaded from a local path only."""

from __future__ import annotations

import threading
from typing import Sequence

from ingest.errors import SettingsError


class Embedder:
    """Wraps a SentenceTransformer loaded offline. Thread-safe for encode calls."""

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"ENCLAVE_EMBEDDING_MODEL: cannot load a sentence-transformers model from {model_path!r} ({exc}); "
                "point it at a local model folder or leave it empty for the packaged model"
            ) from exc
        self._lock = threading.Lock()
        self.batch_size = batch_size
        self.tokenizer = self._model.tokenizer
        self.max_tokens = int(self._model.max_seq_length)
        self.dimension = int(self._model.get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for this text, without the [CLS]/[SEP] specials."""
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
