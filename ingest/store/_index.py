"""How the embedded store builds its vector index (ENCLAVE_STORE_*): the Edge config for a new shard, and the check
that an existing shard was built as the settings ask.

Every field left None is "not set": a new store gets Edge's own default (EDGE_DEFAULTS, today's behaviour), an
existing store keeps what it was built with. The build settings are fixed when the store is created: Edge would
accept another value when it loads a shard, rewrite the shard's config and then rebuild every segment at the next
optimize() (measured: loading with another HNSW m, quantization or on-disk placement makes optimize() rebuild the
indexes). A silent rebuild freezes the process for minutes at 100k chunks (bench/retrieval.py), far longer at a
million, so a store opened with build settings that differ from its own is refused (SettingsError naming the
variable) before Edge sees them. Only the indexing threshold, which decides when optimize() builds HNSW and changes
nothing stored, applies to an open store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import qdrant_edge as E

from ingest.errors import SettingsError
from ingest.store._base import DENSE, SPARSE

# Edge's file for the config a shard was built with (qdrant lib/edge EDGE_CONFIG_FILE): it records what was given
# at creation, with missing keys meaning Edge's defaults. Read only to compare, never written here.
EDGE_CONFIG_FILE = "edge_config.json"

# qdrant-edge-py 0.9.0, when nothing is passed: checked by running it (a shard of 6,000 384-d vectors stays
# un-indexed by optimize(), 7,500 are indexed: threshold 10,000 KB of vectors) and in its source.
EDGE_DEFAULTS: dict[str, Any] = {
    "hnsw_m": 16,
    "hnsw_ef_construct": 100,
    "quantization": "none",
    "on_disk_vectors": False,  # Edge's Memory.Cached: vectors kept in RAM
    "on_disk_payload": True,  # Edge's Memory.Cold: payloads memory-mapped, read from disk when a hit is returned
    "indexing_threshold_kb": 10_000,
}
HNSW_FULL_SCAN_THRESHOLD_KB = 10_000  # Edge's default; HnswIndexConfig needs one when m or ef_construct is set
QUANTIZATIONS = ("none", "int8")


@dataclass(frozen=True)
class IndexSettings:
    """ENCLAVE_STORE_* for the embedded store; None = not set (Edge's default, or what the store was built with)."""

    hnsw_m: int | None = None
    hnsw_ef_construct: int | None = None
    quantization: str | None = None  # "none" | "int8"
    on_disk_vectors: bool | None = None
    on_disk_payload: bool | None = None
    indexing_threshold_kb: int | None = None  # 0: never build HNSW

    def __post_init__(self) -> None:
        if self.quantization is not None and self.quantization not in QUANTIZATIONS:
            raise SettingsError(
                f"ENCLAVE_STORE_QUANTIZATION: must be one of {', '.join(QUANTIZATIONS)} (got {self.quantization!r})"
            )

    def build_settings(self) -> dict[str, Any]:
        """The settings that are set and fixed when the store is created, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "indexing_threshold_kb" and getattr(self, f.name) is not None}


def variable_for(name: str) -> str:
    return "ENCLAVE_STORE_" + name.upper()


def edge_config(dimension: int, index: IndexSettings, built: dict[str, Any] | None = None) -> E.EdgeConfig:
    """The config to create a shard with (built None) or to load one built so (`built_with`). Loading passes the
    vectors (Edge checks their size) as they were built: Edge takes the vector parameters given as the new truth, so
    leaving out `on_disk` would turn a store's on-disk vectors into in-RAM ones at the next optimize (measured). It
    passes no other build setting (unset ones keep the shard's), and the indexing threshold if set."""
    vector: dict[str, Any] = {"size": dimension, "distance": E.Distance.Cosine}
    options: dict[str, Any] = {}
    if index.indexing_threshold_kb is not None:
        options["optimizers"] = E.EdgeOptimizersConfig(indexing_threshold=index.indexing_threshold_kb)
    if built is not None:
        if built["on_disk_vectors"]:
            vector["on_disk"] = True
    else:
        if index.on_disk_vectors is not None:
            vector["on_disk"] = index.on_disk_vectors
        if index.on_disk_payload is not None:
            options["on_disk_payload"] = index.on_disk_payload
        if index.hnsw_m is not None or index.hnsw_ef_construct is not None:
            options["hnsw_config"] = E.HnswIndexConfig(
                m=index.hnsw_m if index.hnsw_m is not None else EDGE_DEFAULTS["hnsw_m"],
                ef_construct=index.hnsw_ef_construct if index.hnsw_ef_construct is not None
                else EDGE_DEFAULTS["hnsw_ef_construct"],
                full_scan_threshold=HNSW_FULL_SCAN_THRESHOLD_KB,
            )
        if index.quantization == "int8":
            options["quantization_config"] = E.ScalarQuantizationConfig(E.ScalarType.Int8)
    return E.EdgeConfig(
        vectors={DENSE: E.EdgeVectorParams(**vector)},
        sparse_vectors={SPARSE: E.EdgeSparseVectorParams(modifier=E.Modifier.Idf)},
        **options,
    )


def built_with(path: Path) -> dict[str, Any] | None:
    """The build settings of the shard at path, from its config file, Edge's defaults where the file says nothing;
    None when there is no such file (a shard made by an Edge that did not write one). SettingsError if unreadable."""
    file = path / EDGE_CONFIG_FILE
    if not file.exists():
        return None
    try:
        saved = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"cannot read how the embedded store at {path} was built ({exc}): restore its {EDGE_CONFIG_FILE} from a "
            "backup, or set ENCLAVE_COLLECTION to a new name and ingest again"
        ) from exc
    dense = (saved.get("vectors") or {}).get(DENSE) or {}
    hnsw = {**(saved.get("hnsw_config") or {}), **(dense.get("hnsw_config") or {})}
    quantization = dense.get("quantization_config") or saved.get("quantization_config")
    scalar = (quantization or {}).get("scalar") or {}
    return {
        "hnsw_m": hnsw.get("m", EDGE_DEFAULTS["hnsw_m"]),
        "hnsw_ef_construct": hnsw.get("ef_construct", EDGE_DEFAULTS["hnsw_ef_construct"]),
        "quantization": "none" if not quantization else (scalar.get("type") if scalar else "other"),
        "on_disk_vectors": _on_disk(dense.get("on_disk"), dense.get("memory"), EDGE_DEFAULTS["on_disk_vectors"]),
        "on_disk_payload": _on_disk(saved.get("on_disk_payload"), saved.get("payload_memory"),
                                    EDGE_DEFAULTS["on_disk_payload"]),
    }


def check_built_as_asked(path: Path, index: IndexSettings, built: dict[str, Any] | None) -> None:
    """Refuse an existing store whose build settings differ from those set: Edge would rebuild it silently."""
    wanted = index.build_settings()
    if not wanted:
        return
    if built is None:
        raise SettingsError(
            f"the embedded store at {path} does not say how it was built (no {EDGE_CONFIG_FILE}), so "
            f"{', '.join(variable_for(name) for name in wanted)} cannot be checked against it: unset them (the store "
            "keeps its own), or set ENCLAVE_COLLECTION to a new name and ingest again"
        )
    wrong = [f"{variable_for(name)}={_shown(value)} (the store has {_shown(built[name])})"
             for name, value in wanted.items() if built.get(name) != value]
    if wrong:
        raise SettingsError(
            f"the embedded store at {path} was built with other index settings: {'; '.join(wrong)}. These apply "
            "only when a store is created (changing them would rebuild the whole index at the next optimize, the "
            "process frozen meanwhile): unset them to keep the store as it is, or set ENCLAVE_COLLECTION to a new "
            "name and ingest again"
        )


def _on_disk(flag: bool | None, memory: str | None, default: bool) -> bool:
    if flag is not None:
        return bool(flag)
    return memory == "cold" if memory is not None else default


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
