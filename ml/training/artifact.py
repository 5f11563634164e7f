"""On-disk layout of a fine-tuned model and the atomic write that produces it.

Layout of an artifact directory (the backbone sits at the top level, so
`AutoModel.from_pretrained(artifact_dir)` works on its own):

    config.json, model.safetensors   fine-tuned backbone (LoRA already merged), save_pretrained
    tokenizer.json, tokenizer_config.json, ...   the tokenizer it was trained with
    head.safetensors                 classification head: `weight` (num_labels, hidden), `bias`
    tessera_model.json               manifest: format version, task type, labels (the head's
                                     output order), positive_label, pooling, ...
    metrics.json                     validation metrics of the kept (best) epoch
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ml.storage import fsync_dir, fsync_tree
from ml.training.kinds import TRAINABLE_KINDS, TaskKind

MANIFEST_NAME = "tessera_model.json"
METRICS_NAME = "metrics.json"
HEAD_NAME = "head.safetensors"
FORMAT_NAME = "tessera-text-model"
FORMAT_VERSION = 1
TMP_MARKER = ".tmp-"


def check_output_dir(output_dir: Path) -> None:
    """Refuse to overwrite: a registry version must never change under a running server."""
    if output_dir.is_dir() and any(output_dir.iterdir()):
        raise ValueError(
            f"output_dir {output_dir} already exists and is not empty; pass a new directory"
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output_dir {output_dir} exists and is not a directory")


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON with a trailing newline (humans read these files)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@contextlib.contextmanager
def atomic_directory(output_dir: Path) -> Iterator[Path]:
    """Yield a sibling temp dir; on success fsync it and rename it to `output_dir`.

    A crash or exception leaves no `output_dir` (the temp dir is removed on exceptions; after a
    hard kill only a `<name>.tmp-<random>` dir remains, which is never mistaken for an artifact).
    """
    output_dir = Path(output_dir)
    check_output_dir(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_dir.with_name(f"{output_dir.name}{TMP_MARKER}{secrets.token_hex(6)}")
    tmp.mkdir()
    try:
        yield tmp
        fsync_tree(tmp)
        check_output_dir(output_dir)
        if output_dir.is_dir():
            output_dir.rmdir()  # empty placeholder (checked above); rename needs it gone
        os.rename(tmp, output_dir)
        fsync_dir(output_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_manifest(artifact_dir: Path) -> dict[str, Any]:
    """Load and validate tessera_model.json; ValueError naming the path if missing or corrupt."""
    path = Path(artifact_dir) / MANIFEST_NAME
    if not Path(artifact_dir).is_dir():
        raise ValueError(f"model artifact {artifact_dir} does not exist or is not a directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{path} is missing: {artifact_dir} is not a Tessera text model artifact"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is unreadable or corrupt: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a {FORMAT_NAME} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version {manifest.get('format_version')!r}; this code reads "
            f"version {FORMAT_VERSION}; retrain the model or upgrade Tessera"
        )
    labels = manifest.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(label, str) for label in labels)
        or len(set(labels)) != len(labels)
        or manifest.get("task_type") not in TRAINABLE_KINDS
        or not isinstance(manifest.get("max_seq_length"), int)
    ):
        raise ValueError(f"{path} is corrupt: labels, task_type or max_seq_length invalid")
    if "positive_label" not in manifest:
        # Written before the manifest named it: those artifacts scored with the last of the
        # sorted labels (their `score_label`), for pair and binary tasks alike.
        legacy = manifest.get("score_label", labels[-1])
        binary = TaskKind(manifest["task_type"]).takes_pairs or len(labels) == 2
        manifest["positive_label"] = legacy if binary else None
    positive = manifest["positive_label"]
    if positive is not None and positive not in labels:
        raise ValueError(f"{path} is corrupt: positive_label {positive!r} is not in labels")
    return manifest
