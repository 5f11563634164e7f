"""The `sentiment.headline` model the workers score with: fine-tuned through the registry (or
read back from --model-cache) and promoted."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from bench.alertlatency.data import training_csv
from bench.alertlatency.report import say


def model_train_and_promote(
    args: argparse.Namespace, pairs: list[tuple[str, str]], work: Path, rng: random.Random
) -> Any:
    """Fine-tune `sentiment.headline` through the registry and promote it.

    The trained artifact and its row's fields are kept under --model-cache, keyed by the
    training data, hyperparameters and base model, so a rerun registers the same model in
    seconds instead of fine-tuning again (the bench measures alerting, not training).
    """
    from django.conf import settings

    from ml.registry import services
    from ml.registry.models import ModelVersion
    from ml.registry.services.queueing import version_dir

    dataset = training_csv(pairs, args.train_n, work / "headlines.csv", rng)
    hyperparameters = {"epochs": args.epochs, "max_seq_length": 64}
    key = hashlib.sha256(
        dataset.read_bytes()
        + json.dumps(hyperparameters, sort_keys=True).encode()
        + settings.ML_BASE_MODEL.encode()
    ).hexdigest()[:16]
    cached = args.model_cache / key
    if (cached / "version.json").is_file():
        fields = json.loads((cached / "version.json").read_text())
        version = ModelVersion.objects.create(
            task="sentiment.headline",
            version=1,
            base_model=settings.ML_BASE_MODEL,
            status=ModelVersion.Status.READY,
            progress=1.0,
            status_message="ready (bench model cache)",
            notes=f"bench/alert_latency.py, cached model {key}",
            **fields,
        )
        target = version_dir(version) / "model"
        shutil.copytree(cached / "model", target)
        version.artifact_path = str(target)
        version.save(update_fields=["artifact_path"])
        say(f"model: cached fine-tune {key}")
    else:
        started = time.monotonic()
        say(f"training sentiment.headline on {args.train_n} sentences ({args.epochs} epoch)...")
        queued = services.model_version_queue(
            task="sentiment.headline",
            base_model=settings.ML_BASE_MODEL,
            dataset_path=str(dataset),
            hyperparameters=hyperparameters,
            enqueue=False,
            notes="bench/alert_latency.py",
        )
        version = services.model_version_train(version_id=queued.id)
        say(f"trained in {time.monotonic() - started:.0f} s")
        staging = cached.with_name(f"{key}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(version.artifact_path, staging / "model")
        fields = {
            name: getattr(version, name)
            for name in (
                "task_type",
                "hyperparameters",
                "dataset_fingerprint",
                "dataset_size",
                "metrics",
                "device",
                "train_seconds",
            )
        }
        (staging / "version.json").write_text(json.dumps(fields))
        shutil.rmtree(cached, ignore_errors=True)
        staging.rename(cached)
    return services.model_version_promote(version=version)
