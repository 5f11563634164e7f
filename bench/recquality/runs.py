"""Every model of the benchmark on one split, and the printed table."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from bench.recquality.data import data_kind, load
from bench.recquality.vectors import text_vectors
from config.app_settings.recommender import RECOMMENDER_NEXT_ITEM_HYPERPARAMETERS
from ml.embeddings import default_base_model_dir
from ml.recsys.baselines import ALS, EASE, ItemKNN, Popularity, TextSimilarity
from ml.recsys.config import NextItemConfig
from ml.recsys.data import leave_last_out
from ml.recsys.evaluate import ranking_evaluate
from ml.recsys.training import train_next_item

# The full model's settings (any may be changed with --set key=value): what the product trains
# (RECOMMENDER_NEXT_ITEM_HYPERPARAMETERS: full softmax over the catalogue, each user's most recent
# 50 transitions per epoch, about a minute on 2 shared CPU cores), and the blend with EASE and
# popularity chosen on validation.
FULL_PARAMS: dict[str, Any] = {**RECOMMENDER_NEXT_ITEM_HYPERPARAMETERS, "negatives": 0}


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    from bench.rec_quality import BASELINES, CACHE_DIR, COLD_MODELS

    only = {name for name in args.only.split(",") if name}
    wanted = [m for m in (*BASELINES, "full") if not only or m in only]
    data = load(args.data)
    split = leave_last_out(data)
    cold = split.cold_mask()
    print(
        f"{data.n_users} users, {data.n_items} items, {data.n_interactions} interactions; "
        f"{len(split.users)} test users, {int(cold.sum())} with a cold held-out item"
    )
    model_dir = os.environ.get("ML_BASE_MODEL") or str(default_base_model_dir())
    vectors = text_vectors(data.item_texts, model_dir, CACHE_DIR)
    results: dict[str, dict[str, float]] = {}
    cold_results: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    fits = {
        "popularity": lambda: Popularity.fit(split.train),
        "itemknn": lambda: ItemKNN.fit(split.train),
        "mf": lambda: ALS.fit(split.train),
        "ease": lambda: EASE.fit(split.train),
        "text": lambda: TextSimilarity(vectors),
    }
    for name in BASELINES:
        if name not in wanted:
            continue
        started = time.monotonic()
        scorer = fits[name]()
        report = ranking_evaluate(scorer, split)
        results[name] = {"ndcg_at_10": report.ndcg, "recall_at_10": report.recall}
        if name in COLD_MODELS:
            cold_report = ranking_evaluate(scorer, split, mask=cold)
            cold_results[name] = {
                "ndcg_at_10": cold_report.ndcg,
                "recall_at_10": cold_report.recall,
            }
        seconds[name] = round(time.monotonic() - started, 1)
        print(
            f"{name:12s} NDCG@10 {report.ndcg:.4f}  Recall@10 {report.recall:.4f}"
            f"  ({seconds[name]} s)"
        )
    full_details: dict[str, Any] = {}
    if "full" in wanted:
        overrides = dict(item.split("=", 1) for item in args.set)
        params: dict[str, Any] = {**FULL_PARAMS, "refit": False, "device": args.device}
        if args.epochs:
            params["epochs"] = args.epochs
        params.update({k: _value(v) for k, v in overrides.items()})
        config = NextItemConfig.from_dict(params)
        started = time.monotonic()
        trained = train_next_item(
            config,
            data,
            vectors,
            progress=lambda f, m: print(f"  full {f:5.1%} {m}", flush=True),
            fit_cache=args.model_cache,
        )
        metrics = trained.metrics
        results["full"] = {
            "ndcg_at_10": metrics["ndcg_at_10"],
            "recall_at_10": metrics["recall_at_10"],
        }
        cold_results["full"] = {
            "ndcg_at_10": metrics["cold_start_ndcg_at_10"],
            "recall_at_10": metrics["cold_start_recall_at_10"],
        }
        seconds["full"] = round(time.monotonic() - started, 1)
        full_details = {
            "config": config.to_dict(),
            **{k: metrics[k] for k in metrics if k not in ("ndcg_at_10", "recall_at_10")},
        }
    table(results, cold_results)
    return {
        "data": str(args.data),
        "data_kind": data_kind(args.data),
        "protocol": "leave-last-out by time; full catalogue ranked; user's items removed",
        "users": data.n_users,
        "items": data.n_items,
        "interactions": data.n_interactions,
        "test_users": int(len(split.users)),
        "cold_start_users": int(cold.sum()),
        "encoder": model_dir,
        "ndcg_at_10": {name: r["ndcg_at_10"] for name, r in results.items()},
        "recall_at_10": {name: r["recall_at_10"] for name, r in results.items()},
        "cold_start": {
            "ndcg_at_10": {name: r["ndcg_at_10"] for name, r in cold_results.items()},
            "recall_at_10": {name: r["recall_at_10"] for name, r in cold_results.items()},
        },
        "seconds": seconds,
        "full": full_details,
    }


def table(results: dict[str, dict[str, float]], cold: dict[str, dict[str, float]]) -> None:
    print(f"\n{'model':12s} {'NDCG@10':>8s} {'Recall@10':>10s} {'cold NDCG':>10s} {'cold Rec':>9s}")
    for name, r in results.items():
        c = cold.get(name)
        cold_text = f"{c['ndcg_at_10']:10.4f} {c['recall_at_10']:9.4f}" if c else ""
        print(f"{name:12s} {r['ndcg_at_10']:8.4f} {r['recall_at_10']:10.4f} {cold_text}")
    base = max((r["ndcg_at_10"] for n, r in results.items() if n != "full"), default=np.nan)
    if "full" in results:
        print(f"full / best baseline NDCG@10: {results['full']['ndcg_at_10'] / base:.2f}")
