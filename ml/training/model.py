"""Encoder + mean pooling + linear head, its tokenisation, and loading a trained one for serving.

The architecture matches sentence-transformers' MiniLM (BertModel, mean pooling over the attention
mask), so the fine-tuned backbone is still a good sentence embedder (`TextModel.embed`).
Pair inputs are encoded as one cross-encoder sequence `[CLS] text [SEP] text_pair [SEP]`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from ml.device import autocast, resolve_device
from ml.quantize import quantize_dynamic_int8
from ml.training.artifact import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEAD_NAME,
    MANIFEST_NAME,
    read_manifest,
    write_json,
)
from ml.training.kinds import TaskKind

POOLING = "mean"
HEAD_DROPOUT = 0.1

Features = list[dict[str, list[int]]]


def _offline() -> None:
    """No hub access in this product: models come from local dirs only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_backbone(model_dir: Path) -> PreTrainedModel:
    """fp32 AutoModel from a local dir (checkpoints saved in fp16 are upcast for training)."""
    _offline()
    return AutoModel.from_pretrained(str(model_dir), local_files_only=True, dtype=torch.float32)


def load_tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved next to the model (fast tokenizer where available)."""
    _offline()
    return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token states over real tokens (fp32, so bf16 autocast doesn't lose the sum)."""
    mask = attention_mask.unsqueeze(-1).to(torch.float32)
    summed = (hidden.to(torch.float32) * mask).sum(dim=1)
    return summed / mask.sum(dim=1).clamp(min=1e-9)


class EncoderClassifier(nn.Module):
    """Backbone (optionally LoRA-wrapped) -> mean pooling -> dropout -> Linear(num_labels)."""

    def __init__(self, backbone: nn.Module, num_labels: int, dropout: float = HEAD_DROPOUT):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"num_labels={num_labels}: a classifier needs at least 2 labels")
        self.backbone = backbone
        self.hidden_size = int(backbone.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.hidden_size, num_labels)

    def pool(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sentence embedding (un-normalised) of each sequence."""
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        return mean_pool(out.last_hidden_state, attention_mask)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits (batch, num_labels)."""
        pooled = self.pool(input_ids, attention_mask, token_type_ids)
        return self.head(self.dropout(pooled))


def encode(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    text_pairs: Sequence[str] | None,
    max_length: int,
) -> Features:
    """Tokenise once, unpadded; batches are padded to their own longest row (dynamic padding)."""
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(text_pairs)} text_pairs")
    if not texts:
        return []
    enc = tokenizer(
        list(texts),
        list(text_pairs) if text_pairs is not None else None,
        truncation=True,
        max_length=max_length,
    )
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    return [{k: enc[k][i] for k in keys} for i in range(len(texts))]


def collate(features: Features, pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a list of encoded rows into tensors."""
    length = max(len(f["input_ids"]) for f in features)
    batch: dict[str, torch.Tensor] = {}
    for key in features[0]:
        fill = pad_id if key == "input_ids" else 0
        tensor = torch.full((len(features), length), fill, dtype=torch.long)
        for row, feature in enumerate(features):
            values = feature[key]
            tensor[row, : len(values)] = torch.tensor(values, dtype=torch.long)
        batch[key] = tensor
    return batch


def padding_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The tokenizer's padding id (0 if it defines none; those positions are masked anyway)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def _length_batches(features: Features, batch_size: int) -> list[list[int]]:
    """Indices grouped by similar length so inference pads little."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def run_model(
    classifier: EncoderClassifier,
    features: Features,
    pad_id: int,
    device: str,
    batch_size: int = 64,
    *,
    embeddings: bool = False,
    mixed_precision: bool = False,
) -> np.ndarray:
    """Logits (or pooled embeddings) as float32 numpy, in the order of `features`.

    fp32 unless asked: like the base encoder (ML_ENCODER_PRECISION), MiniLM-sized models ran
    no faster under bf16 autocast on an H200.
    """
    was_training = classifier.training
    classifier.eval()
    width = classifier.hidden_size if embeddings else classifier.head.out_features
    result = np.zeros((len(features), width), dtype=np.float32)
    try:
        for indices in _length_batches(features, batch_size):
            batch = collate([features[i] for i in indices], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast(device, mixed_precision):
                out = classifier.pool(**batch) if embeddings else classifier(**batch)
            result[indices] = out.float().cpu().numpy()
    finally:
        classifier.train(was_training)
    return result


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, returned as float32 rows summing to 1."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def save_text_model(
    classifier: EncoderClassifier,
    tokenizer: PreTrainedTokenizerBase,
    directory: Path,
    *,
    labels: Sequence[str],
    positive_label: str | None,
    task_type: TaskKind | str,
    max_seq_length: int,
    base_model_dir: Path,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write backbone, tokenizer, head and manifest (LoRA must already be merged).

    `labels` is the head's output order and `positive_label` the label `TextModel.score`
    returns the probability of (None for a multi-class model); both go in the manifest as
    given, so loading never re-derives them from sorted names.
    """
    if positive_label is not None and positive_label not in labels:
        raise ValueError(f"positive_label={positive_label!r} is not one of {list(labels)}")
    if any("lora_" in name for name, _ in classifier.backbone.named_parameters()):
        raise ValueError("backbone still has LoRA layers; merge_and_unload() before saving")
    classifier.backbone.save_pretrained(str(directory), safe_serialization=True)
    tokenizer.save_pretrained(str(directory))
    head = {
        k: v.detach().to("cpu", torch.float32).contiguous()
        for k, v in classifier.head.state_dict().items()
    }
    save_file(head, str(directory / HEAD_NAME))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "task_type": str(TaskKind(task_type)),
        "labels": list(labels),
        "positive_label": positive_label,
        "max_seq_length": max_seq_length,
        "pooling": POOLING,
        "hidden_size": classifier.hidden_size,
        "base_model": Path(base_model_dir).name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    write_json(directory / MANIFEST_NAME, manifest)


class TextModel:
    """A loaded artifact ready for inference (concurrent calls from several threads are fine).

    For pair (and binary) tasks the "score" of an input is the probability of the manifest's
    `positive_label`, e.g. P("1") for "0"/"1" relevance labels; `score()` returns it directly.
    """

    def __init__(
        self,
        classifier: EncoderClassifier,
        tokenizer: PreTrainedTokenizerBase,
        manifest: dict[str, Any],
        device: str,
        artifact_dir: Path,
    ):
        self.classifier = classifier
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.labels: list[str] = list(manifest["labels"])
        self.task_type = TaskKind(manifest["task_type"])
        self.positive_label: str | None = manifest.get("positive_label")
        self.max_seq_length: int = manifest["max_seq_length"]
        self.device = device
        self.artifact_dir = artifact_dir

    def _features(self, texts: Sequence[str], text_pairs: Sequence[str] | None) -> Features:
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, not a single string")
        if self.task_type.takes_pairs and text_pairs is None:
            raise ValueError(f"{self.artifact_dir} is a pair model: pass text_pairs")
        if not self.task_type.takes_pairs and text_pairs is not None:
            raise ValueError(f"{self.artifact_dir} is a classification model: omit text_pairs")
        return encode(self.tokenizer, texts, text_pairs, self.max_seq_length)

    def predict_proba(
        self,
        texts: Sequence[str],
        text_pairs: Sequence[str] | None = None,
        *,
        batch_size: int = 64,
    ) -> np.ndarray:
        """float32 (N, num_labels) probabilities in `labels` order; rows sum to 1."""
        features = self._features(texts, text_pairs)
        if not features:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = run_model(
            self.classifier, features, padding_id(self.tokenizer), self.device, batch_size
        )
        return softmax(logits)

    def predict(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(label, confidence) of the most probable label for each input."""
        probs = self.predict_proba(texts, text_pairs)
        best = probs.argmax(axis=1)
        return [(self.labels[i], float(probs[row, i])) for row, i in enumerate(best)]

    def score(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None) -> np.ndarray:
        """Probability of the manifest's positive label, float32 (N,); pair and binary models."""
        if self.positive_label is None:
            raise ValueError(
                f"{self.artifact_dir} has {len(self.labels)} labels and no positive_label; "
                "use predict_proba() for a multi-class model"
            )
        column = self.labels.index(self.positive_label)
        return self.predict_proba(texts, text_pairs)[:, column].copy()

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """L2-normalised mean-pooled embeddings of the fine-tuned backbone, float32 (N, hidden)."""
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, not a single string")
        features = encode(self.tokenizer, texts, None, self.max_seq_length)
        if not features:
            return np.zeros((0, self.classifier.hidden_size), dtype=np.float32)
        vectors = run_model(
            self.classifier,
            features,
            padding_id(self.tokenizer),
            self.device,
            batch_size,
            embeddings=True,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def load_text_model(
    artifact_dir: Path, device: str = "auto", *, quantize_int8: bool | None = False
) -> TextModel:
    """Load an artifact written by `train_text_model`; needs neither peft nor the base model.

    `quantize_int8`: int8 dynamic quantisation of the Linear layers for CPU serving (None: on
    when the device is the CPU, where it roughly doubles headlines/s; bench/sentiment_quality.py
    reports its accuracy next to fp32). True on a GPU is an error.
    Raises ValueError naming the path when the artifact is missing, partial or corrupt.
    """
    artifact_dir = Path(artifact_dir)
    manifest = read_manifest(artifact_dir)
    resolved = resolve_device(device)
    if quantize_int8 and resolved != "cpu":
        raise ValueError(
            f"quantize_int8=True needs the CPU but the device resolved to {resolved}; "
            "set ML_DEVICE=cpu or ML_CLASSIFIER_INT8=0"
        )
    head_path = artifact_dir / HEAD_NAME
    try:
        backbone = load_backbone(artifact_dir)
        tokenizer = load_tokenizer(artifact_dir)
        head = load_file(str(head_path))
    except Exception as exc:  # noqa: BLE001 - safetensors/transformers raise many types
        raise ValueError(f"model artifact {artifact_dir} is incomplete or corrupt: {exc}") from exc
    classifier = EncoderClassifier(backbone, num_labels=len(manifest["labels"]))
    expected = {k: tuple(v.shape) for k, v in classifier.head.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in head.items()}
    if expected != found:
        raise ValueError(
            f"{head_path} has tensors {found}, expected {expected} for "
            f"{len(manifest['labels'])} labels; the artifact is corrupt"
        )
    classifier.head.load_state_dict(head)
    classifier.to(resolved).eval()
    if quantize_int8 or (quantize_int8 is None and resolved == "cpu"):
        quantize_dynamic_int8(classifier)
    return TextModel(classifier, tokenizer, manifest, resolved, artifact_dir)
