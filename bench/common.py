"""What every benchmark repeats: labelled CSV data sets, the result JSON's header, and writing
bench/results/<name>.json atomically.

Data sets are `text,category` (Banking77's layout: /work/shared/datasets/banking77 holds
train.csv and test.csv, 77 intents, plus categories.json; see its SOURCE.md) or `text,label`
CSVs with a header row, read by `ml.training.read_examples_csv` so a benchmark sees exactly
what training sees.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
# The shared Banking77 copy (train.csv, test.csv, categories.json), next to the checkout.
BANKING77_DIR = ROOT.parent / "shared" / "datasets" / "banking77"
SPLITS = ("train.csv", "test.csv")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def missing_splits(data: Path, names: tuple[str, ...] = SPLITS) -> list[str]:
    """The split files `data` lacks (a benchmark without its data says so and exits 0)."""
    return [name for name in names if not (Path(data) / name).is_file()]


def read_labelled(path: Path) -> list[Any]:
    """`text,category` or `text,label` rows as `ml.training.Example`s; SystemExit naming a bad
    file or line (a benchmark's input error is the user's to fix, not a traceback)."""
    from ml.training import read_examples_csv

    try:
        return read_examples_csv(Path(path))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from exc


def read_texts(path: Path) -> list[str]:
    """The stripped, non-empty `text` column of a CSV with a header row (other columns ignored)."""
    import csv

    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if "text" not in (reader.fieldnames or []):
            raise SystemExit(f"{path}: header {reader.fieldnames} has no 'text' column")
        return [text for row in reader if (text := (row["text"] or "").strip())]


def git_commit() -> str | None:
    """HEAD of the checkout, with "-dirty" when tracked files changed; None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def result_header(script: str, *, device: str | None = None) -> dict[str, Any]:
    """Where and how a result was measured: script, commit, machine, CPU, device, torch threads.

    Torch facts are recorded only when the benchmark has imported torch (some never do).
    """
    header: dict[str, Any] = {
        "script": script,
        "git_commit": git_commit(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "device": device,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        header["torch_version"] = torch.__version__
        header["torch_threads"] = torch.get_num_threads()
    return header


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def result_write(path: Path, result: dict[str, Any]) -> Path:
    """Write `result` as indented JSON atomically (temp file, fsync, rename): an interrupted
    run never leaves half a result where the last good one was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=_json_default) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; results are shared files
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
