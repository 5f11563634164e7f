"""bench/sentiment_quality.py end to end on tiny PhraseBank-format and CSV data, tiny model."""

from __future__ import annotations

import csv
import importlib.util
import json
import random
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = {
    "positive": ["profit rose", "sales grew strongly", "record earnings", "order won"],
    "negative": ["profit fell", "sales dropped", "loss widened", "layoffs announced"],
    "neutral": ["the company is based in", "the agreement covers", "shares are listed in"],
}
COMPANIES = ["Sepp\u00e4l\u00e4", "Nokia", "Kone", "Stora Enso", "UPM", "Fortum", "Elisa"]
TECHNIQUES = "plain,frozen_logreg,ensemble,distilled"


def _sentences(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ("neutral", "positive", "neutral", "negative")[i % 4]
        rows.append((f"{rng.choice(COMPANIES)} {rng.choice(WORDS[label])} in {2000 + i}", label))
    return rows


def _phrasebank(folder: Path) -> Path:
    rows = _sentences(120, seed=0)
    rows += [rows[0], (rows[1][0], "negative")]  # a repeated line; a sentence with 2 labels
    folder.mkdir()
    lines = [f"{s}@{label}" for s, label in rows]
    (folder / "Sentences_50Agree.txt").write_bytes("\n".join(lines).encode("latin-1"))
    agreed = [f"{s}@{label}" for s, label in rows[2:120:2]]
    (folder / "Sentences_AllAgree.txt").write_bytes("\n".join(agreed).encode("latin-1"))
    return folder


def _csv_pair(folder: Path) -> Path:
    folder.mkdir()
    for name, rows in (("train.csv", _sentences(90, 1)), ("test.csv", _sentences(20, 2))):
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    return folder


def _bench() -> ModuleType:
    path = ROOT / "bench/sentiment_quality.py"
    spec = importlib.util.spec_from_file_location("sentiment_quality", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_phrasebank_run_writes_every_reported_number(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = _phrasebank(tmp_path / "fpb"), tmp_path / "result.json"
    argv = ["--data", str(data), "--model", str(tiny_model_dir), "--device", "cpu"]
    argv += ["--techniques", TECHNIQUES, "--out", str(out), "--model-cache", str(tmp_path / "m")]
    assert _bench().main(argv) == 0
    result = json.loads(out.read_text())
    assert result["complete"] and list(result["techniques"]) == TECHNIQUES.split(",")
    split = result["split"]
    assert (
        split["lines"],
        split["duplicates_removed"],
        split["conflicting_sentences_dropped"],
    ) == (
        122,
        1,
        1,
    )
    counts = split["label_counts"]
    sizes = {name: sum(c.values()) for name, c in counts.items()}
    assert sizes["train"] + sizes["validation"] + sizes["test"] == 119
    assert sizes["validation"] == pytest.approx(12, abs=1) and sizes["test"] == pytest.approx(
        12, abs=1
    )
    assert 0 < sizes["allagree_test"] < sizes["test"]
    for key in ("accuracy", "macro_f1", "allagree_accuracy", "allagree_macro_f1"):
        assert 0.0 <= result[key] <= 1.0
    assert result["train_seconds"] > 0 and result["device"] == "cpu"
    assert set(result["headlines_per_s"]) == {"bulk", "one_at_a_time"}
    rows = result["techniques"]
    assert result["served_technique"].removesuffix("+int8") in rows
    for name in ("plain", "ensemble", "distilled"):  # the int8 copy served on a CPU, beside fp32
        row = rows[name]
        assert 0.0 <= row["int8"]["test"]["accuracy"] <= 1.0
        assert row["int8"]["headlines_per_s"]["bulk"] > 0
    assert rows["ensemble"]["builds_on"] == "label_smoothing"
    assert rows["plain"]["hyperparameters"]["lr_schedule"] == "constant"
    assert rows["distilled"]["hyperparameters"]["distillation_weight"] == 0.5
    assert rows["distilled"]["teacher_scoring_seconds"] > 0
    assert rows["frozen_logreg"]["hyperparameters"]["C"] > 0 and "int8" not in rows["frozen_logreg"]
    assert len(rows["ensemble"]["epochs_run"]) == 2
    assert "served (best validation macro-F1" in capsys.readouterr().out

    cached = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert len(cached) == 4  # plain, label_smoothing seeds 42 + 43 (shared), distilled student
    assert (
        _bench().main(
            [
                *argv[:-4],
                "--techniques",
                "ensemble",
                "--out",
                str(out),
                "--model-cache",
                str(tmp_path / "m"),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == cached  # reused, not retrained


def test_csv_pair_has_no_allagree_figures(tmp_path: Path, tiny_model_dir: Path) -> None:
    data, out = _csv_pair(tmp_path / "csv"), tmp_path / "result.json"
    argv = ["--data", str(data), "--model", str(tiny_model_dir), "--device", "cpu"]
    assert _bench().main([*argv, "--techniques", "plain", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["split"]["label_counts"]["test"] == {"negative": 5, "neutral": 10, "positive": 5}
    assert result["allagree_accuracy"] is None and result["accuracy"] is not None


def test_missing_data_skips_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    assert _bench().main(["--data", str(tmp_path), "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out and not out.exists()


def test_unknown_technique_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        _bench().main(["--data", str(tmp_path), "--techniques", "plain,magic"])
    assert exc.value.code == 2
