"""Unknown questions in the chat quality benchmark: held-out intents (step 3) and the
"Out of scope" learning loop (`--labelled-oos`)."""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from apps.chat.answering import (
    CLASSIFIER_WEIGHT,
    COMBINED_TEMPERATURE,
    OUT_OF_SCOPE_INTENT,
    Thresholds,
)
from bench.chatquality.config import HYPERPARAMETERS
from bench.chatquality.models import data_splits, model_outputs, run_header, train_intent_model
from bench.chatquality.retrieval import KnowledgeBase, Questions
from bench.chatquality.thresholds import (
    NoveltyScores,
    action_rates,
    choose_gate,
    choose_thresholds,
    decided_rates,
    gate_rates,
    outcomes,
)
from ml.training.calibration import auroc, tradeoff_curve


def run_oos(
    args: argparse.Namespace,
    base_model: Path,
    device: str,
    work: Path,
    fit: list[Any],
    val: list[Any],
    test: list[Any],
    base: dict[str, np.ndarray],
    hyper: dict[str, Any],
    calibration: dict[str, Any],
) -> dict[str, Any]:
    """Hold intents out of training and the KB; choose thresholds on validation, test them."""
    from ml.training import load_text_model
    from ml.training.data import label_set

    labels = label_set(fit)
    n_held = min(args.oos_intents, max(1, len(labels) // 4))
    held = sorted(random.Random(args.seed).sample(labels, n_held))
    kept = [label for label in labels if label not in held]
    in_fit = [e for e in fit if e.label not in held]
    in_val = [e for e in val if e.label not in held]
    metrics = train_intent_model(
        base_model,
        in_fit,
        in_val,
        work / "intent_in_scope",
        hyper,
        device=device,
        seed=args.seed,
        desc="fine-tune (in-scope intents)",
    )
    model = load_text_model(work / "intent_in_scope", device=device)

    def split(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of in-scope and of held-out-intent examples."""
        out = np.array([e.label in held for e in rows], dtype=bool)
        return np.flatnonzero(~out), np.flatnonzero(out)

    fit_in, fit_out = split(fit)
    val_in, val_out = split(val)
    _, test_out = split(test)
    # Validation: in-scope validation questions, and every train question of a held-out intent
    # (those never reach training nor the KB; test questions are kept apart).
    val_texts = (
        [val[i].text for i in val_in]
        + [fit[i].text for i in fit_out]
        + [val[i].text for i in val_out]
    )
    val_labels = (
        [val[i].label for i in val_in]
        + [fit[i].label for i in fit_out]
        + [val[i].label for i in val_out]
    )
    val_vecs = np.concatenate([base["val"][val_in], base["fit"][fit_out], base["val"][val_out]])
    n_val_in = len(val_in)
    val_probs, val_emb = model_outputs(model, val_texts, desc="in-scope model val")
    test_probs, test_emb = model_outputs(model, [e.text for e in test], desc="in-scope model test")
    _, fit_emb = model_outputs(model, [fit[i].text for i in fit_in], desc="in-scope model fit")
    novelty = NoveltyScores(fit_emb, [fit[i].label for i in fit_in])

    kb = KnowledgeBase(kept, [fit[i].label for i in fit_in], base["fit"][fit_in])
    config = "dense_classifier"
    constants = calibration[config]["constants"]
    val_q = Questions(kb, *kb.hits(val_vecs), val_probs, model.labels, val_labels)
    test_q = Questions(
        kb, *kb.hits(base["test"]), test_probs, model.labels, [e.label for e in test]
    )
    conf_v, top1_v, top3_v, _ = outcomes(val_q, constants, with_classifier=True)
    conf_t, top1_t, top3_t, rankings_t = outcomes(test_q, constants, with_classifier=True)
    is_out_t = np.zeros(len(test), dtype=bool)
    is_out_t[test_out] = True
    thresholds, policy = choose_thresholds(
        conf_v[:n_val_in], top1_v[:n_val_in], top3_v[:n_val_in], conf_v[n_val_in:]
    )
    val_rates = action_rates(
        conf_v[:n_val_in], top1_v[:n_val_in], top3_v[:n_val_in], conf_v[n_val_in:], thresholds
    )
    test_rates = action_rates(
        conf_t[~is_out_t], top1_t[~is_out_t], top3_t[~is_out_t], conf_t[is_out_t], thresholds
    )
    test_rates.update(decided_rates(rankings_t, test_q.truth, is_out_t, thresholds))
    # Until an intent model is promoted the service ranks by retrieval alone, same thresholds.
    dense_constants = calibration["dense"]["constants"]
    conf_r, top1_r, top3_r, _ = outcomes(test_q, dense_constants, with_classifier=False)
    retrieval_only = action_rates(
        conf_r[~is_out_t], top1_r[~is_out_t], top3_r[~is_out_t], conf_r[is_out_t], thresholds
    )
    separation = auroc(conf_v[:n_val_in], conf_v[n_val_in:])
    curve = [
        point.as_dict()
        for point in tradeoff_curve(
            conf_v,
            lambda s: {
                key: action_rates(
                    conf_v[:n_val_in],
                    top1_v[:n_val_in],
                    top3_v[:n_val_in],
                    conf_v[n_val_in:],
                    Thresholds(s, s),
                )[key]
                for key in ("oos_recall", "in_scope_accuracy")
            },
        )
    ]
    signals = {
        "combined_score": separation,
        "max_cosine": auroc(val_q.hit_scores[:n_val_in, 0], val_q.hit_scores[n_val_in:, 0]),
        "max_classifier_probability": auroc(
            val_probs[:n_val_in].max(axis=1), val_probs[n_val_in:].max(axis=1)
        ),
    }
    signals_test = {"combined_score": auroc(conf_t[~is_out_t], conf_t[is_out_t])}
    val_novelty = novelty.scores(val_emb)
    test_novelty = novelty.scores(test_emb)
    for name in val_novelty:
        signals[name] = auroc(val_novelty[name][:n_val_in], val_novelty[name][n_val_in:])
        signals_test[name] = auroc(test_novelty[name][~is_out_t], test_novelty[name][is_out_t])
    gated = {}
    for name in val_novelty:
        gate, gate_policy = choose_gate(
            conf_v[:n_val_in],
            top1_v[:n_val_in],
            val_novelty[name][:n_val_in],
            conf_v[n_val_in:],
            val_novelty[name][n_val_in:],
        )
        test_in = gate_rates(
            conf_t[~is_out_t],
            top1_t[~is_out_t],
            test_novelty[name][~is_out_t],
            conf_t[is_out_t],
            test_novelty[name][is_out_t],
            gate,
        )
        gated[name] = {"gate": gate, "validation": gate_policy, "test": test_in}
    return {
        "held_out_intents": held,
        "held_out_seed": args.seed,
        "retrieval_config": config,
        "constants": constants,
        "in_scope_model_val_accuracy": metrics["accuracy"],
        "in_scope_model_train_seconds": metrics["train_seconds"],
        "n_val_in_scope": int(n_val_in),
        "n_val_oos": int(len(val_texts) - n_val_in),
        "n_test_in_scope": int((~is_out_t).sum()),
        "n_test_oos": int(is_out_t.sum()),
        "val_auroc_in_vs_oos": separation,
        "val_auroc_by_signal": signals,
        "test_auroc_by_signal": signals_test,
        "gated_by_novelty": gated,
        "gated_by_novelty_counting": "hand off when the novelty score (fine-tuned in-scope "
        "model's embedding vs. its training questions) is below `gate.novelty`, else answer "
        "when the combined score >= `gate.answer`, else hand off; both cut-offs chosen on "
        "validation by the same max-min margin rule as the thresholds",
        "val_tradeoff_answer_equals_suggest": curve,
        "test_auroc_in_vs_oos": auroc(conf_t[~is_out_t], conf_t[is_out_t]),
        "thresholds": {"answer": thresholds.answer, "suggest": thresholds.suggest},
        "threshold_policy": policy,
        "validation": val_rates,
        "test": test_rates,
        "test_retrieval_only_same_thresholds": retrieval_only,
        "counting": {
            "oos_recall": "held-out-intent test questions that get action handoff; suggest and "
            "answer both count as failures",
            "in_scope_accuracy": "strict: in-scope test questions answered with the correct entry",
            "in_scope_accuracy_lenient": "also counts suggest with the correct entry in the top 3",
        },
    }


def run_labelled_oos(args: argparse.Namespace, base_model: Path, device: str, work: Path) -> dict:
    """Classifiers without / with marked out-of-scope examples; see the module docstring."""
    from ml.embeddings import Encoder, EncoderConfig
    from ml.training import Example, load_text_model
    from ml.training.data import label_set

    fit, val, test = data_splits(args)
    labels = label_set(fit)
    n_held = min(args.oos_intents, max(1, len(labels) // 4))
    held = sorted(random.Random(args.seed).sample(labels, n_held))  # as in run_oos
    rest = [label for label in labels if label not in held]
    marked = sorted(
        random.Random(args.seed + 1).sample(rest, min(args.labelled_oos, len(rest) // 2))
    )
    kept = [label for label in rest if label not in marked]
    print(f"intents: {len(kept)} in scope, {len(held)} unseen, {len(marked)} marked out of scope")
    hyper = dict(HYPERPARAMETERS)
    if args.epochs is not None:
        hyper["epochs"] = args.epochs

    def rows(split: list[Any], wanted: Sequence[str]) -> list[Any]:
        return [e for e in split if e.label in wanted]

    def as_marked(split: list[Any]) -> list[Any]:
        return [Example(text=e.text, label=OUT_OF_SCOPE_INTENT) for e in rows(split, marked)]

    encoder = Encoder(EncoderConfig(model_dir=base_model, device=device, quantize_int8=args.int8))
    in_fit = rows(fit, kept)
    kb = KnowledgeBase(kept, [e.label for e in in_fit], encoder.encode([e.text for e in in_fit]))
    # Validation as in run_oos: in-scope validation questions against every train and
    # validation question of the unseen intents. Test: in-scope, unseen, marked.
    val_sets = {"in_scope": rows(val, kept), "unseen": rows(fit, held) + rows(val, held)}
    test_sets = {
        "in_scope": rows(test, kept),
        "unseen": rows(test, held),
        "marked": rows(test, marked),
    }
    vectors = {
        key: encoder.encode([e.text for e in items])
        for key, items in [
            *(("val_" + k, v) for k, v in val_sets.items()),
            *(("test_" + k, v) for k, v in test_sets.items()),
        ]
    }
    constants = {"temperature": COMBINED_TEMPERATURE, "classifier_weight": CLASSIFIER_WEIGHT}
    variants: dict[str, Any] = {}
    for name, extra_fit, extra_val in (
        ("without_marked", [], []),
        ("with_marked", as_marked(fit), as_marked(val)),
    ):
        metrics = train_intent_model(
            base_model,
            in_fit + extra_fit,
            rows(val, kept) + extra_val,
            work / f"labelled_oos_{name}",
            hyper,
            device=device,
            seed=args.seed,
            desc=f"fine-tune ({name.replace('_', ' ')})",
        )
        model = load_text_model(work / f"labelled_oos_{name}", device=device)
        conf: dict[str, np.ndarray] = {}
        top1: dict[str, np.ndarray] = {}
        top3: dict[str, np.ndarray] = {}
        p_oos: dict[str, np.ndarray] = {}
        for prefix, sets in (("val_", val_sets), ("test_", test_sets)):
            for key, items in sets.items():
                probs, _ = model_outputs(
                    model, [e.text for e in items], desc=f"{name} {prefix}{key}"
                )
                questions = Questions(
                    kb,
                    *kb.hits(vectors[prefix + key]),
                    probs,
                    model.labels,
                    [e.label for e in items],
                )
                c, t1, t3, _ = outcomes(questions, constants, with_classifier=True)
                out = (
                    probs[:, model.labels.index(OUT_OF_SCOPE_INTENT)]
                    if OUT_OF_SCOPE_INTENT in model.labels
                    else np.zeros(len(items))
                )
                conf[prefix + key] = c * (1.0 - out)  # as `decide` scores it
                top1[prefix + key], top3[prefix + key], p_oos[prefix + key] = t1, t3, out
        thresholds, policy = choose_thresholds(
            conf["val_in_scope"], top1["val_in_scope"], top3["val_in_scope"], conf["val_unseen"]
        )
        test_rates = action_rates(
            conf["test_in_scope"],
            top1["test_in_scope"],
            top3["test_in_scope"],
            conf["test_unseen"],
            thresholds,
        )
        variants[name] = {
            "thresholds": {"answer": thresholds.answer, "suggest": thresholds.suggest},
            "threshold_policy": policy,
            "val_accuracy": metrics["accuracy"],
            "train_seconds": metrics["train_seconds"],
            "n_train": len(in_fit) + len(extra_fit),
            "test": test_rates,
            "test_marked_oos_recall": float((conf["test_marked"] < thresholds.suggest).mean()),
            "test_auroc_in_vs_unseen": auroc(conf["test_in_scope"], conf["test_unseen"]),
            "test_auroc_in_vs_marked": auroc(conf["test_in_scope"], conf["test_marked"]),
            "test_mean_p_out_of_scope": {
                k[5:]: float(v.mean()) for k, v in p_oos.items() if k.startswith("test_")
            },
        }
        marked_recall = variants[name]["test_marked_oos_recall"]
        print(f"  {name}: {variants[name]['test']} marked {marked_recall:.3f}")
    return {
        **run_header(args, device),
        "data_dir": str(args.data),
        "hyperparameters": hyper,
        "unseen_intents": held,
        "marked_intents": marked,
        "n_in_scope_intents": len(kept),
        "n_test": {k: len(v) for k, v in test_sets.items()},
        "constants": constants,
        "variants": variants,
        "counting": "as run_oos: oos_recall = unseen-intent test questions handed off; "
        "in_scope_accuracy = in-scope test questions answered with the right entry; "
        "test_marked_oos_recall = marked intents' test questions handed off",
    }
