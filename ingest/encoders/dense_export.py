"""Exported copies of a sentence-transformers model: ONNX / OpenVINO graphs (fp32 or int8), made once, offline,
into a cache folder keyed by the model files, the recipe and the library versions; and the runtimes that run them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ingest.errors import IngestError, SettingsError
from ingest.hashing import hash_file

BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
# What each exported backend needs besides torch (which every export uses): named in the error when missing.
BACKEND_PACKAGES = {
    "torch": (),
    "onnx": ("onnx", "onnxruntime"),
    "onnx-int8": ("onnx", "onnxruntime"),
    "openvino": ("onnx", "openvino"),
    "openvino-int8": ("onnx", "openvino", "nncf"),
}
# Bump a backend's recipe when its export changes: the cache key includes it, so old exports are not reused.
_RECIPES = {"onnx-int8": "3"}  # 3: weights on 7 bits (reduce_range)
_RECIPE = "2"  # every other backend
_MANIFEST = "manifest.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")



def count_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def block_openvino_telemetry() -> None:
    """`import openvino` sends a usage event to an analytics service, and NNCF one per quantize call, unless the
    user opted out in ~/intel/openvino_telemetry. Enclave sends nothing out: with their telemetry package made
    unimportable, both fall back to the no-op stubs they ship for when it is not installed."""
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]  # None makes the import fail


# -- model folder facts -------------------------------------------------------------------------------------


def require_packages(backend: str) -> None:
    import importlib.util

    missing = [name for name in BACKEND_PACKAGES[backend] if importlib.util.find_spec(name) is None]
    if missing:
        raise SettingsError(
            f"ENCLAVE_EMBEDDING_BACKEND={backend} needs the Python package(s) {', '.join(missing)}; "
            "install them or choose another backend (torch needs nothing extra)"
        )


def pooling_mode(source: Path) -> str:
    """'mean' or 'cls'. The exported graph holds Transformer + Pooling (+ Normalize) and nothing else."""
    modules_file = source / "modules.json"
    if not modules_file.is_file():
        return "mean"  # a plain transformers folder: sentence-transformers mean-pools it too
    kinds = {m["type"].rsplit(".", 1)[-1]: m.get("path", "") for m in json.loads(modules_file.read_text())}
    extra = set(kinds) - {"Transformer", "Pooling", "Normalize"}
    if extra:
        raise SettingsError(
            f"ENCLAVE_EMBEDDING_BACKEND: the model in {source} has modules ({', '.join(sorted(extra))}) that only the "
            "torch backend runs; set ENCLAVE_EMBEDDING_BACKEND=torch for it"
        )
    config_file = source / kinds.get("Pooling", "1_Pooling") / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {"pooling_mode_mean_tokens": True}
    modes = [key for key, on in config.items() if key.startswith("pooling_mode_") and on]
    if modes == ["pooling_mode_mean_tokens"]:
        return "mean"
    if modes == ["pooling_mode_cls_token"]:
        return "cls"
    raise SettingsError(
        f"ENCLAVE_EMBEDDING_BACKEND: pooling {modes} of the model in {source} is not exported; "
        "set ENCLAVE_EMBEDDING_BACKEND=torch for it"
    )


def max_tokens_of(source: Path, tokenizer: Any) -> int:
    config_file = source / "sentence_bert_config.json"
    if config_file.is_file():
        limit = json.loads(config_file.read_text()).get("max_seq_length")
        if limit:
            return int(limit)
    return int(min(tokenizer.model_max_length, 512))


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def cache_key(source: Path, backend: str) -> str:
    """Changes when the model files, the recipe or a library that writes or reads the export changes."""
    digest = hashlib.sha256(f"{_RECIPES.get(backend, _RECIPE)}|{backend}|{source.resolve()}".encode())
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"|{path.relative_to(source)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for name in ("torch", "transformers", "onnx", *BACKEND_PACKAGES[backend]):
        digest.update(f"|{name}={_package_version(name)}".encode())
    return f"{source.name}-{backend}-{digest.hexdigest()[:16]}"


# -- the export cache ---------------------------------------------------------------------------------------


def _is_complete(folder: Path) -> bool:
    """True when every file the manifest lists is there with its recorded size and checksum."""
    try:
        manifest = json.loads((folder / _MANIFEST).read_text())
        return bool(manifest["files"]) and all(
            (folder / name).stat().st_size == entry["size"] and hash_file(folder / name) == entry["sha256"]
            for name, entry in manifest["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def exported_model(source: Path, backend: str, pooling: str, cache_dir: Path) -> Path:
    """The folder holding this backend's export of `source`, exported now if it is missing or damaged."""
    final = cache_dir / cache_key(source, backend)
    if _is_complete(final):
        return final
    if final.exists():
        print(f"the cached {backend} export in {final} is incomplete; exporting again", file=sys.stderr)
        shutil.rmtree(final, ignore_errors=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for leftover in cache_dir.glob(f".{final.name}.*"):  # temp folders of exports killed mid-way
        if time.time() - leftover.stat().st_mtime > 3600:
            shutil.rmtree(leftover, ignore_errors=True)
    label = "ONNX" if backend.startswith("onnx") else "OpenVINO"
    kind = " int8" if backend.endswith("-int8") else ""
    print(f"exporting the embedding model to {label}{kind} (once) into {final} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    # Write beside the final folder, then rename: a crash leaves a temp folder, never a half-written export.
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    try:
        # NNCF draws its progress bars on stdout: keep stdout for the caller's output (`--json`).
        with contextlib.redirect_stdout(sys.stderr):
            files = _export(source, backend, pooling, work)
        manifest = {
            "backend": backend,
            "source": str(source.resolve()),
            "recipe": _RECIPES.get(backend, _RECIPE),
            "files": {name: {"size": (work / name).stat().st_size, "sha256": hash_file(work / name)} for name in files},
        }
        (work / _MANIFEST).write_text(json.dumps(manifest, indent=2))
        try:
            work.rename(final)
        except OSError:
            if not _is_complete(final):  # not another process finishing the same export first
                raise
    except Exception as exc:
        raise IngestError(
            f"exporting the embedding model to {backend} failed ({exc}); "
            "set ENCLAVE_EMBEDDING_BACKEND=torch to run without an export"
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"exported in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return final


def _export(source: Path, backend: str, pooling: str, work: Path) -> list[str]:
    """Write the backend's model files into `work`; return their names."""
    import logging

    # Exporters warn at length about tracing and deprecations; their result is checked by cosine in the tests.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _export_onnx(source, pooling, work / "model.onnx")
        if backend == "onnx":
            return ["model.onnx"]
        if backend == "onnx-int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # MatMul weights only, per channel: the embedding table and LayerNorms stay fp32. Weights on 7 bits
            # (reduce_range): on CPUs without VNNI (AVX2 only) ONNX Runtime's u8s8 kernels saturate full-range
            # int8 weights; there the lowest cosine to fp32 of the test texts was 0.9898 without it, 0.9918 with it.
            with _quiet_root_logger():
                quantize_dynamic(
                    work / "model.onnx", work / "model_int8.onnx", weight_type=QuantType.QInt8,
                    per_channel=True, reduce_range=True, op_types_to_quantize=["MatMul"],
                )
            (work / "model.onnx").unlink()
            return ["model_int8.onnx"]
        import openvino as ov

        model = ov.Core().read_model(str(work / "model.onnx"))  # the runtime's own ONNX reader
        if backend == "openvino-int8":
            import nncf

            nncf.set_log_level(logging.ERROR)
            model = _quantize_openvino(model, source)
        ov.save_model(model, str(work / "openvino_model.xml"), compress_to_fp16=False)
        (work / "model.onnx").unlink()
        return ["openvino_model.xml", "openvino_model.bin"]


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ONNX Runtime's quantizer logs advice through the root logger, which would also install a root handler
    (logging.basicConfig) for the whole process. A NullHandler for the duration prevents both."""
    import logging

    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(handler)


def _export_onnx(source: Path, pooling: str, target: Path) -> None:
    """The transformer plus pooling and normalisation as one ONNX graph: ids in, sentence vectors out."""
    import torch
    from transformers import AutoModel

    # Eager attention traces into plain MatMul/Softmax, which both runtimes fuse and quantize well.
    model = AutoModel.from_pretrained(str(source), local_files_only=True, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if pooling == "cls":
                vector = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                vector = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vector, p=2, dim=1)

    example = (torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8, dtype=torch.long), torch.zeros(2, 8, dtype=torch.long))
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with torch.no_grad():
        torch.onnx.export(
            Pooled(), example, str(target), dynamo=False, opset_version=17, input_names=list(INPUTS),
            output_names=["sentence_embedding"], dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
        )


def _calibration_texts(count: int = 300) -> list[str]:
    """Real English prose that ships with Python itself (pydoc's topic help), so int8 calibration needs no data set."""
    import pydoc_data.topics

    paragraphs = []
    for key in sorted(pydoc_data.topics.topics):
        for paragraph in re.split(r"\n\s*\n", pydoc_data.topics.topics[key]):
            paragraph = " ".join(paragraph.split())
            if len(paragraph) > 200 and not paragraph.startswith((">>>", "...")):
                paragraphs.append(paragraph)
    rng = np.random.default_rng(0)
    return [paragraphs[i] for i in rng.choice(len(paragraphs), min(count, len(paragraphs)), replace=False)]


def _quantize_openvino(model: Any, source: Path) -> Any:
    """Static int8 (weights and activations). The FFN output projections stay fp32: their inputs have outliers."""
    import nncf
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    limit = max_tokens_of(source, tokenizer)

    def transform(text: str) -> dict:
        enc = tokenizer([text], truncation=True, max_length=limit, return_tensors="np")
        return {name: enc[name].astype(np.int64) for name in INPUTS if name in enc}

    texts = _calibration_texts()
    ffn_out = [
        op.get_friendly_name()
        for op in model.get_ops()
        if op.get_type_name() == "MatMul" and re.search(r"layer\.\d+/output/dense", op.get_friendly_name())
    ]
    return nncf.quantize(
        model, nncf.Dataset(texts, transform), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(texts),
        ignored_scope=nncf.IgnoredScope(names=ffn_out, validate=False),
    )


# -- runtimes -----------------------------------------------------------------------------------------------


def open_runtime(backend: str, folder: Path) -> Callable[[Iterable[dict]], list[np.ndarray]]:
    """A function that runs the exported model on a sequence of input batches and returns their outputs in order."""
    threads = count_cores()
    if backend.startswith("onnx"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        name = "model_int8.onnx" if backend == "onnx-int8" else "model.onnx"
        session = ort.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}
        return lambda feeds: [session.run(None, {k: v for k, v in feed.items() if k in wanted})[0] for feed in feeds]
    import openvino as ov

    # Throughput mode: one stream per core, each running its own batch on one thread, instead of every core working
    # on one batch. Nothing waits for a straggler, the next batch is tokenized while these run, and a parse worker
    # taking a core slows one stream only: 10 % faster alone, and unslowed beside a busy process (docs/benchmarks.md).
    # Precision is OpenVINO's default: bf16 on CPUs with native bf16 (AVX512-BF16, AMX), else f32.
    compiled = ov.Core().compile_model(
        str(folder / "openvino_model.xml"), "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "THROUGHPUT"}
    )
    queue = ov.AsyncInferQueue(compiled, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    wanted = {name for port in compiled.inputs for name in port.get_names()}
    outputs: dict[int, np.ndarray] = {}
    # Copied before the request is reused. The caller holds the Embedder's lock: one call at a time uses `outputs`.
    queue.set_callback(lambda request, index: outputs.__setitem__(index, request.get_output_tensor(0).data.copy()))

    def run(feeds: Iterable[dict]) -> list[np.ndarray]:
        outputs.clear()
        count = 0
        for count, feed in enumerate(feeds, 1):
            queue.start_async({k: v for k, v in feed.items() if k in wanted}, userdata=count - 1)
        queue.wait_all()
        return [outputs.pop(i) for i in range(count)]

    return run
