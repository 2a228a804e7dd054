"""Switch every library in the stack to offline, no-telemetry mode. Called once at start-up, before heavy imports."""

from __future__ import annotations

import os
from pathlib import Path

# Each of these stops a library from reaching the network: model hubs, telemetry, or usage analytics.
_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",  # huggingface_hub / transformers / sentence-transformers: local files only
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # our own progress bars are the ones a person should see
    "DO_NOT_TRACK": "1",  # unstructured (and others honouring the convention)
    "SCARF_NO_ANALYTICS": "true",  # unstructured's Scarf analytics ping
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "TOKENIZERS_PARALLELISM": "false",  # quiet fork warnings in parse workers
}


def _tiktoken_cache() -> Path | None:
    """llama-index ships the tiktoken encodings; point tiktoken at them instead of a download."""
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return cache if cache.is_dir() else None


def enforce_offline() -> None:
    """Set the offline switches (only where the user has not set them)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    cache = _tiktoken_cache()
    if cache is not None:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
        os.environ.setdefault("TIKTOKEN_RS_CACHE_DIR", str(cache))
