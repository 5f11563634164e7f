"""The main run and the hyper-parameter sweep of the chat quality benchmark."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.chatquality.config import HYPERPARAMETERS, RETRIEVAL_K, SWEEP_CONFIGS, SWEEP_OUT, TARGETS
from bench.chatquality.models import (
    data_splits,
    load_split,
    logreg_baseline,
    model_outputs,
    run_header,
    subsample,
    train_intent_model,
)
from bench.chatquality.oos import run_oos
from bench.chatquality.retrieval import (
    KnowledgeBase,
    Questions,
    aggregation_study,
    fit_constants,
    pooling_study,
    ranking_metrics,
)
from bench.common import ROOT


def run_sweep(args: argparse.Namespace, base_model: Path, device: str, work: Path) -> dict:
    """Train each SWEEP_CONFIGS variant on the train split; compare validation accuracy.

    `--max-train` caps the training rows only: every variant is scored on the whole
    validation split, so the comparison is not lost in the noise of a tiny validation set.
    """
    from ml.training.data import stratified_split

    fit, val = stratified_split(load_split(args.data, "train"), args.val_fraction, args.seed)
    fit = subsample(fit, args.max_train, args.seed)
    runs = []
    for i, variant in enumerate(SWEEP_CONFIGS):
        params = {**HYPERPARAMETERS, **variant}
        if args.epochs is not None:
            params["epochs"] = args.epochs
        metrics = train_intent_model(
            base_model,
            fit,
            val,
            work / f"sweep_{i}",
            params,
            device=device,
            seed=args.seed,
            desc=f"sweep {i + 1}/{len(SWEEP_CONFIGS)}",
        )
        runs.append(
            {
                "hyperparameters": params,
                "val_accuracy": metrics["accuracy"],
                "val_macro_f1": metrics["macro_f1"],
                "best_epoch": metrics["best_epoch"],
                "history": [
                    {k: h[k] for k in ("epoch", "accuracy", "macro_f1", "val_loss", "seconds")}
                    for h in metrics["history"]
                ],
                "train_seconds": metrics["train_seconds"],
                "train_examples_per_second": metrics["train_examples_per_second"],
            }
        )
        print(f"  {variant}: val accuracy {metrics['accuracy']:.4f}")
    best = max(runs, key=lambda r: r["val_accuracy"])
    return {
        **run_header(args, device),
        "n_train": len(fit),
        "n_validation": len(val),
        "max_train": args.max_train,
        "runs": runs,
        "best": best["hyperparameters"],
    }


def run_benchmark(args: argparse.Namespace, base_model: Path, device: str, work: Path) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    from ml.embeddings import Encoder, EncoderConfig
    from ml.training import load_text_model
    from ml.training.data import label_set

    fit, val, test = data_splits(args)
    labels = label_set(fit)
    hyper = dict(HYPERPARAMETERS)
    if args.epochs is not None:
        hyper["epochs"] = args.epochs
    if args.mixed_precision:
        hyper["mixed_precision"] = True
    print(f"data: fit {len(fit)}, validation {len(val)}, test {len(test)}, {len(labels)} intents")

    # 1. Base encoder vectors (the service indexes the KB with these) + logistic regression.
    encoder = Encoder(EncoderConfig(model_dir=base_model, device=device, quantize_int8=args.int8))
    base: dict[str, np.ndarray] = {}
    for name, rows in (("fit", fit), ("val", val), ("test", test)):
        print(f"encoding {name} with the base encoder")
        base[name] = encoder.encode([e.text for e in rows], show_progress=True)
    print("logistic-regression baseline")
    baseline = logreg_baseline(
        base["fit"],
        [e.label for e in fit],
        base["val"],
        [e.label for e in val],
        base["test"],
        [e.label for e in test],
    )

    # 2. Fine-tuned intent classifier on all intents.
    metrics = train_intent_model(
        base_model,
        fit,
        val,
        work / "intent_all",
        hyper,
        device=device,
        seed=args.seed,
        desc="fine-tune (all intents)",
    )
    model = load_text_model(work / "intent_all", device=device)
    ft: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, rows in (("fit", fit), ("val", val), ("test", test)):
        ft[name] = model_outputs(model, [e.text for e in rows], desc=f"fine-tuned {name}")
    test_truth = [model.labels.index(e.label) for e in test]
    predicted = ft["test"][0].argmax(axis=1)
    intent_accuracy = float(accuracy_score(test_truth, predicted))
    intent_macro_f1 = float(f1_score(test_truth, predicted, average="macro"))

    # 3. Knowledge base retrieval, calibration fitted on validation, metrics on test.
    fit_labels = [e.label for e in fit]
    vectors = {"dense": base, "dense_finetuned": {k: v[1] for k, v in ft.items()}}
    retrieval: dict[str, dict[str, float]] = {}
    calibration: dict[str, Any] = {}
    for space, vecs in vectors.items():
        kb = KnowledgeBase(labels, fit_labels, vecs["fit"])
        sets = {
            name: Questions(
                kb, *kb.hits(vecs[name]), ft[name][0], model.labels, [e.label for e in rows]
            )
            for name, rows in (("val", val), ("test", test))
        }
        if space == "dense":
            calibration["phrasing_aggregation"] = aggregation_study(sets["val"])
            calibration["pooling"] = pooling_study(sets["val"])
        for with_clf in (False, True):
            key = f"{space}_classifier" if with_clf else space
            fitted = fit_constants(sets["val"], with_classifier=with_clf)
            calibration[key] = fitted
            retrieval[key] = ranking_metrics(
                sets["test"], with_classifier=with_clf, constants=fitted["constants"]
            )
            print(f"  {key}: {retrieval[key]} constants {fitted['constants']}")
    best_config = max(retrieval, key=lambda k: (retrieval[k]["recall_at_1"], retrieval[k]["mrr"]))

    # 4. Unknown questions: held-out intents, a second classifier, thresholds on validation.
    oos = run_oos(args, base_model, device, work, fit, val, test, base, hyper, calibration)

    result: dict[str, Any] = {
        **run_header(args, device),
        "data_dir": str(args.data),
        "n_train": len(fit),
        "n_validation": len(val),
        "n_test": len(test),
        "n_intents": len(labels),
        "max_train": args.max_train,
        "max_test": args.max_test,
        "hyperparameters": {
            **hyper,
            "selected_by": _sweep_summary(),
        },
        "intent_accuracy": intent_accuracy,
        "intent_macro_f1": intent_macro_f1,
        "intent_val_accuracy": metrics["accuracy"],
        "intent_history": [
            {k: h[k] for k in ("epoch", "accuracy", "macro_f1", "val_loss", "seconds")}
            for h in metrics["history"]
        ],
        "train_seconds": metrics["train_seconds"],
        "train_examples_per_second": metrics["train_examples_per_second"],
        "baseline_logreg_accuracy": baseline["accuracy"],
        "baseline_logreg": baseline,
        "best_retrieval_config": best_config,
        "recall_at_1": retrieval[best_config]["recall_at_1"],
        "recall_at_5": retrieval[best_config]["recall_at_5"],
        "mrr": retrieval[best_config]["mrr"],
        "retrieval": retrieval,
        "retrieval_k": RETRIEVAL_K,
        "calibration": calibration,
        "thresholds": oos["thresholds"],
        "oos_recall": oos["test"]["oos_recall"],
        "in_scope_accuracy": oos["test"]["in_scope_accuracy"],
        "in_scope_accuracy_lenient": oos["test"]["in_scope_accuracy_lenient"],
        "oos": oos,
    }
    result["targets"] = {
        key: {"target": goal, "value": result[key], "met": bool(result[key] >= goal)}
        for key, goal in TARGETS.items()
    }
    result["targets"]["intent_accuracy_beats_logreg"] = {
        "target": baseline["accuracy"],
        "value": intent_accuracy,
        "met": bool(intent_accuracy > baseline["accuracy"]),
    }
    return result


def _sweep_summary() -> dict[str, Any] | str:
    if not SWEEP_OUT.is_file():
        return "no sweep results found (bench/results/chat_quality_sweep.json)"
    sweep = json.loads(SWEEP_OUT.read_text())
    return {
        "file": str(SWEEP_OUT.relative_to(ROOT)),
        "n_train": sweep.get("n_train"),
        "val_accuracy": {
            json.dumps(r["hyperparameters"], sort_keys=True): r["val_accuracy"]
            for r in sweep.get("runs", [])
        },
    }
