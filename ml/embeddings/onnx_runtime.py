"""Run an encoder's transformer in ONNX Runtime on CPU: the same vectors in about half the time.

A support-chat server encodes one short question per message. On the 2-core benchmark machine
(AVX2, PyTorch's MKL kernels) one MiniLM forward pass of a 16-token question took 21 ms in
PyTorch and 10.5 ms in ONNX Runtime; at 32 questions a batch the two were equal, so the gain
is per-call overhead and small-matrix kernels, exactly where online serving lives.

Only the transformer runs in ONNX Runtime. Tokenisation, pooling and normalisation stay the
model dir's own sentence-transformers modules, so any model dir keeps its pooling; the export
is checked against PyTorch on a padded batch before it is used.

`quantize_int8` runs a copy with int8 weights (ONNX Runtime's dynamic quantisation, per
channel). On an AVX-512 VNNI CPU one MiniLM question took 0.96 ms instead of 3.4 ms, at a
cosine of 0.993 to fp32 and Banking77 dense recall@1 0.920 against 0.921 (bench/results/
encode.json); PyTorch's own dynamic int8 reached a cosine of 0.975. It is checked on load by
sentence cosine instead.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.storage import replace_synced

logger = logging.getLogger(__name__)

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Largest |difference| of a token embedding allowed between the export and PyTorch.
EXPORT_TOLERANCE = 1e-3
# Lowest cosine between an int8 sentence vector (mean of the token embeddings) and fp32's.
INT8_MIN_COSINE = 0.97
CHECK_TEXTS = ["Where is my card?", "I was charged twice for one payment at a shop abroad."]


class OnnxExportError(RuntimeError):
    """The exported graph does not reproduce the PyTorch model (or could not be built)."""


def _fingerprint(model_dir: Path) -> str:
    """Changes when the weights, the config, torch or the opset change."""
    digest = hashlib.sha256(f"{model_dir.resolve()}|torch {torch.__version__}|{OPSET}".encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            stat = path.stat()
            digest.update(
                f"{path.relative_to(model_dir)}|{stat.st_size}|{stat.st_mtime_ns}".encode()
            )
    return digest.hexdigest()[:16]


class _LastHiddenState(torch.nn.Module):
    """The transformer with positional inputs and one output, as the exporter wants it."""

    def __init__(self, model: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, tensors, strict=True))).last_hidden_state


class OnnxTransformer:
    """The first module of a SentenceTransformer (its Hugging Face transformer) in ONNX Runtime.

    `forward(features)` adds `token_embeddings` to the tokenizer's features, as the PyTorch
    module does, so the model's later modules (pooling, normalise) run unchanged.
    """

    def __init__(
        self,
        st_model: Any,
        model_dir: Path,
        cache_dir: Path,
        threads: int,
        quantize_int8: bool = False,
    ) -> None:
        import onnxruntime as ort

        sample = st_model.preprocess(CHECK_TEXTS)
        self.names = tuple(name for name in INPUT_NAMES if name in sample)
        self.int8 = quantize_int8
        path = Path(cache_dir) / f"{model_dir.name}-{_fingerprint(model_dir)}.onnx"
        if not path.is_file():
            self._export(st_model, sample, path)
        if quantize_int8:
            fp32_path, path = path, path.with_name(f"{path.stem}-int8.onnx")
            if not path.is_file():
                self._quantize(fp32_path, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path
        self._check(st_model, sample)

    def _export(self, st_model: Any, sample: dict[str, Any], path: Path) -> None:
        # Eager attention: the SDPA path traces its mask for the sample's shapes only.
        model = copy.deepcopy(st_model[0].auto_model).eval()
        model.set_attn_implementation("eager")
        wrapper = _LastHiddenState(model, self.names)
        axes = {name: {0: "batch", 1: "tokens"} for name in (*self.names, "token_embeddings")}
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write elsewhere, then rename: another process may be loading the same model.
        fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(fd)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                # Tracer notes on Python-level shape checks; the check below is what counts.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    wrapper,
                    tuple(sample[name] for name in self.names),
                    tmp,
                    input_names=list(self.names),
                    output_names=["token_embeddings"],
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
            replace_synced(Path(tmp), path)  # fsync, rename: readers never see half
        except Exception as exc:
            name = type(model).__name__
            raise OnnxExportError(f"exporting {name} to ONNX failed: {exc}") from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
        logger.info("exported %s to %s", type(model).__name__, path)

    def _quantize(self, fp32_path: Path, path: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # quantize_dynamic writes `<input>-inferred.onnx` beside its input and deletes it after:
        # two processes quantising the shared export at once (a web server and a worker
        # starting together) would read each other's half-written file. Each works on its own
        # copy in a private folder, then renames the result into place.
        work = Path(tempfile.mkdtemp(prefix="int8-", dir=path.parent))
        try:
            source = work / "fp32.onnx"
            shutil.copyfile(fp32_path, source)
            quantize_dynamic(
                source, work / "int8.onnx", weight_type=QuantType.QInt8, per_channel=True
            )
            replace_synced(work / "int8.onnx", path)
        except Exception as exc:
            raise OnnxExportError(f"quantising {fp32_path} to int8 failed: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
        logger.info("quantised %s to int8 in %s", fp32_path.name, path)

    def _check(self, st_model: Any, sample: dict[str, Any]) -> None:
        with torch.inference_mode():
            expected = st_model[0](dict(sample))["token_embeddings"].float().numpy()
        got = self.run(sample)
        mask = sample["attention_mask"].numpy().astype(bool)
        if self.int8:
            cosine = _mean_pooled_cosine(got, expected, mask)
            if not cosine >= INT8_MIN_COSINE:
                raise OnnxExportError(
                    f"{self.path}: int8 sentence vectors reach a cosine of only {cosine:.3f} to "
                    f"fp32 (< {INT8_MIN_COSINE}); set ML_ENCODER_INT8=0 for this model"
                )
            return
        error = float(np.abs(got - expected)[mask].max())
        if not error <= EXPORT_TOLERANCE:
            raise OnnxExportError(
                f"{self.path} differs from PyTorch by {error:.2g} (> {EXPORT_TOLERANCE}); "
                "delete it to export again, or set ML_ENCODER_RUNTIME=torch"
            )

    def run(self, features: dict[str, Any]) -> np.ndarray:
        feeds = {name: features[name].numpy().astype(np.int64) for name in self.names}
        return self.session.run(None, feeds)[0]

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        features["token_embeddings"] = torch.from_numpy(self.run(features))
        return features


def _mean_pooled_cosine(got: np.ndarray, expected: np.ndarray, mask: np.ndarray) -> float:
    """Lowest cosine, over the sample's sentences, between mean-pooled token embeddings."""
    weights = mask[..., None].astype(np.float32)
    a = (got * weights).sum(axis=1)
    b = (expected * weights).sum(axis=1)
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())
