"""Field benchmark: does the bot answer a deployment's own questions the way a customer meets it?

    .venv/bin/python bench/chat_field.py [--kb KB.json] [--questions Q.csv] [--out FILE]

Builds the knowledge base of --kb (the demo faq.json shape: "entries" with intent and
phrasings, optional "out_of_scope" list), fine-tunes chat.intent as the product does (the same
dataset builder, hyper-parameters -- CHAT_INTENT_HYPERPARAMETERS plus the demo's overrides --
and the same cross-validated choice of decision points for the configured targets), then asks
every question of --questions (CSV `text,expected`; expected = an entry's intent or `oos`)
through the serving path's pure part: retrieval over the phrasings with the serving encoder,
the intent classifier, `score_question`, typed-handoff detection, and `decide`.

Reports, with the model's own points and, for comparison, with the settings' Banking77 points:
  answered_right_rate   in-scope questions answered with their entry
  wrong_answer_rate     answers that were wrong (wrong entry, or an off-topic question answered)
  suggested_right_rate  in-scope questions not answered whose 3 suggestions hold their entry
  oos_handoff_rate      off-topic questions offered a person
Writes bench/results/chat_field.json (or --out). Defaults: the demo's KB and question set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import result_header, result_write  # noqa: E402 - needs ROOT on sys.path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # settings only (no database, no server)

DEMO_KB = ROOT / "apps" / "chat" / "demo" / "faq.json"
DEMO_QUESTIONS = ROOT / "bench" / "data" / "chat_field_demo_questions.csv"
OUT = ROOT / "bench" / "results" / "chat_field.json"
OOS = "oos"


@dataclass(frozen=True)
class Outcome:
    text: str
    expected: str
    action: str  # answer | suggest | handoff | handoff_request
    top3: list[str]
    confidence: float
    top3_confidence: float
    out_of_scope_probability: float


def load_kb(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(phrasing, intent) pairs and out-of-scope examples of a KB file, as the product stores them.

    The product keeps each entry's title as one of its phrasings (`title_phrasing_sync`), first,
    and drops a phrasing equal to one already there (`phrasing_add_many`), so the same happens
    here: the fine-tune and the index see the same examples as after an import.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    phrasings: list[tuple[str, str]] = []
    for row in data["entries"]:
        seen: set[str] = set()
        for text in [row["title"][:500], *row["phrasings"]]:
            text = " ".join(text.split())[:500]
            if text and text not in seen:
                seen.add(text)
                phrasings.append((text, row["intent"]))
    return phrasings, list(data.get("out_of_scope", []))


def load_questions(path: Path, intents: set[str]) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [(r["text"].strip(), r["expected"].strip()) for r in csv.DictReader(handle)]
    unknown = sorted({expected for _, expected in rows} - intents - {OOS})
    if unknown:
        raise SystemExit(f"{path}: expected value(s) {unknown} are neither an intent nor 'oos'")
    return rows


def product_hyperparameters() -> dict[str, Any]:
    """What `manage.py demo` trains chat.intent with: the task defaults + the demo overrides."""
    from django.conf import settings

    from apps.core.demo import demo_contributions

    overrides = {}
    for contribution in demo_contributions():
        overrides.update(contribution.hyperparameters.get("chat.intent", {}))
    return {**settings.CHAT_INTENT_HYPERPARAMETERS, **overrides}


def ask(
    questions: list[tuple[str, str]],
    *,
    model: Any,
    retrieval: Any,
    encode: Any,
    thresholds: Any,
) -> list[Outcome]:
    from apps.chat.handoff_requests import handoff_request_match
    from apps.chat.training import question_score

    vectors = encode([text for text, _ in questions])
    probs = model.predict_proba([text for text, _ in questions])
    outcomes = []
    for row, (text, expected) in enumerate(questions):
        probabilities = dict(zip(model.labels, map(float, probs[row]), strict=True))
        scored, intent_of = question_score(
            query=vectors[row], retrieval=retrieval, intent_probabilities=probabilities
        )
        decision = scored.decide(thresholds)
        handoff = handoff_request_match(vectors[row])
        outcomes.append(
            Outcome(
                text=text,
                expected=expected,
                action="handoff_request" if handoff and handoff.requested else decision.action,
                top3=[intent_of[r.entry_id] for r in scored.ranked[:3]],
                confidence=round(decision.confidence, 4),
                top3_confidence=round(decision.top3_confidence, 4),
                out_of_scope_probability=round(scored.out_of_scope_probability, 4),
            )
        )
    return outcomes


def rates(outcomes: list[Outcome]) -> dict[str, Any]:
    in_scope = [o for o in outcomes if o.expected != OOS]
    oos = [o for o in outcomes if o.expected == OOS]
    answered = [o for o in outcomes if o.action == "answer"]
    right = [o for o in in_scope if o.action == "answer" and o.top3[:1] == [o.expected]]
    not_answered = [o for o in in_scope if o.action != "answer"]
    suggested_right = [o for o in not_answered if o.action == "suggest" and o.expected in o.top3]

    def share(part: list, whole: list) -> float:
        return round(len(part) / len(whole), 4) if whole else 0.0

    return {
        "answered_right_rate": share(right, in_scope),
        "wrong_answer_rate": share([o for o in answered if o not in right], answered),
        "suggested_right_rate": share(suggested_right, not_answered),
        "oos_handoff_rate": share(
            [o for o in oos if o.action in ("handoff", "handoff_request")], oos
        ),
        "in_scope_right_or_suggested_rate": share(right + suggested_right, in_scope),
        "counts": {
            "in_scope": len(in_scope),
            "oos": len(oos),
            "answered_right": len(right),
            "answered_wrong_in_scope": len([o for o in in_scope if o.action == "answer"])
            - len(right),
            "oos_answered": len([o for o in oos if o.action == "answer"]),
            "in_scope_suggested": len([o for o in in_scope if o.action == "suggest"]),
            "suggested_right": len(suggested_right),
            "in_scope_handoff": len(
                [o for o in in_scope if o.action in ("handoff", "handoff_request")]
            ),
            "oos_suggested": len([o for o in oos if o.action == "suggest"]),
        },
    }


def table(result: dict[str, Any]) -> str:
    keys = [
        "answered_right_rate",
        "wrong_answer_rate",
        "suggested_right_rate",
        "oos_handoff_rate",
        "in_scope_right_or_suggested_rate",
    ]
    names = [k.removesuffix("_rate") for k in keys]
    lines = [f"{'thresholds':<28}" + "".join(f"  {n:>{len(n)}}" for n in names)]
    for name, run in result["runs"].items():
        label = f"{name} ({run['thresholds']['answer']:.3f}/{run['thresholds']['suggest']:.3f})"
        cells = (f"  {run[k]:>{len(n)}.3f}" for k, n in zip(keys, names, strict=True))
        lines.append(f"{label:<28}" + "".join(cells))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=DEMO_KB)
    parser.add_argument("--questions", type=Path, default=DEMO_QUESTIONS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--folds", type=int, default=None, help="default: the product's")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import django

    django.setup()
    from django.conf import settings

    from apps.chat.answering import Thresholds
    from apps.chat.decision_points import decision_targets_from_settings, default_thresholds
    from apps.chat.training import (
        DECISION_FOLDS,
        Retrieval,
        intent_decision_scores,
        intent_examples,
    )
    from ml.registry.serving import get_encoder
    from ml.training import TrainConfig, load_text_model, train_text_model
    from ml.training.decision import decision_points_choose, resubstitution_blend

    phrasings, out_of_scope = load_kb(args.kb)
    intents = {intent for _, intent in phrasings}
    questions = load_questions(args.questions, intents)
    examples = intent_examples(phrasings=phrasings, liked=[], out_of_scope=out_of_scope)
    params = product_hyperparameters()
    config = TrainConfig.from_dict(
        Path(settings.ML_BASE_MODEL),
        {**params, "task_type": "classification", "device": settings.ML_DEVICE},
    )
    encoder = get_encoder()
    targets = decision_targets_from_settings()  # no database here: the environment's

    def progress(fraction: float, message: str) -> None:
        print(f"\r  {fraction:6.1%} {message[:70]:<70}", end="", flush=True)

    print(f"{len(examples)} examples ({len(intents)} entries), {len(questions)} questions")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chat-field-") as work:
        trained = train_text_model(config, examples, Path(work) / "model", progress=progress)
        train_seconds = time.monotonic() - started
        # The product's selection (intent_decision_points), unrolled to also show plain CV.
        cv_started = time.monotonic()
        held_out, resubstitution = intent_decision_scores(
            config,
            examples,
            encode=encoder.encode,
            model_dir=trained.artifact_dir,
            folds=args.folds or DECISION_FOLDS,
            progress=progress,
        )
        cv_seconds = time.monotonic() - cv_started
        points = decision_points_choose(
            resubstitution_blend(held_out, resubstitution), targets=targets
        )
        points_cv = decision_points_choose(held_out, targets=targets)
        print(
            f"\npoints {points.answer}/{points.suggest} (plain CV {points_cv.answer}/"
            f"{points_cv.suggest}), {cv_seconds:.0f}s"
        )
        model = load_text_model(trained.artifact_dir, device=settings.ML_DEVICE)
        retrieval = Retrieval(
            vectors=encoder.encode([t for t, _ in phrasings]), intents=[i for _, i in phrasings]
        )
        runs, outcomes = {}, {}
        for name, thresholds in (
            ("model", Thresholds(points.answer, points.suggest, points.suggest_on)),
            (
                "model_plain_cv",
                Thresholds(points_cv.answer, points_cv.suggest, points_cv.suggest_on),
            ),
            ("settings", default_thresholds()),
        ):
            outcomes[name] = ask(
                questions,
                model=model,
                retrieval=retrieval,
                encode=encoder.encode,
                thresholds=thresholds,
            )
            runs[name] = {**rates(outcomes[name]), "thresholds": asdict(thresholds)}
    result = {
        **result_header("bench/chat_field.py", device=str(trained.device)),
        "kb": str(args.kb.relative_to(ROOT) if args.kb.is_relative_to(ROOT) else args.kb),
        "questions": str(
            args.questions.relative_to(ROOT)
            if args.questions.is_relative_to(ROOT)
            else args.questions
        ),
        "n_examples": len(examples),
        "hyperparameters": params,
        "targets": asdict(targets),
        "runs": runs,
        **{k: runs["model"][k] for k in ("answered_right_rate", "wrong_answer_rate")},
        **{k: runs["model"][k] for k in ("suggested_right_rate", "oos_handoff_rate")},
        "decision_points": {k: v for k, v in points.to_dict().items() if k != "curve"},
        "curve": points.to_dict()["curve"],
        "decision_points_plain_cv": {k: v for k, v in points_cv.to_dict().items() if k != "curve"},
        "folds": args.folds or DECISION_FOLDS,
        "cv_seconds": round(cv_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1),
        "outcomes": [asdict(o) for o in outcomes["model"]],
    }
    result_write(args.out, result)
    print(table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
