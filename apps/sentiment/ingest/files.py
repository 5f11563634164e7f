"""Article files for bulk import: CSV (with a header row) or JSON Lines, read row by row.

Every row keeps the line it started on, so a summary can say "line 14: published_at: ...".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = ("csv", "jsonl")
COLUMNS = ("id", "title", "body", "url", "source", "published_at", "language")


@dataclass(frozen=True)
class FileRow:
    line: int
    row: Any  # a dict for the ingest service, or None when the line could not be read
    error: str = ""


def file_format_guess(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "csv":
        return "csv"
    if suffix in {"jsonl", "ndjson"}:
        return "jsonl"
    raise ValueError(f"{path.name}: cannot tell the format from the name; pass --format csv|jsonl")


def _csv_rows(path: Path) -> Iterator[FileRow]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"title", "published_at"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path.name}: the header has no {', '.join(sorted(missing))} column; "
                f"expected columns: {','.join(COLUMNS)}"
            )
        line = reader.line_num + 1
        for record in reader:
            # An empty cell means "not given", so the row's defaults apply.
            yield FileRow(
                line=line,
                row={k: v for k, v in record.items() if k in COLUMNS and v not in ("", None)},
            )
            line = reader.line_num + 1


def _jsonl_rows(path: Path) -> Iterator[FileRow]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield FileRow(line=line, row=json.loads(text))
            except json.JSONDecodeError as exc:
                yield FileRow(line=line, row=None, error=f"not valid JSON ({exc.msg})")


def file_rows(path: Path, file_format: str) -> Iterator[FileRow]:
    """Rows of an article file; raises ValueError for a file that cannot be read at all."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; use csv or jsonl")
    return _csv_rows(path) if file_format == "csv" else _jsonl_rows(path)


def file_row_count(path: Path, file_format: str) -> int:
    """Rows to expect (for the progress bar): one quick pass over the file."""
    return sum(1 for _ in file_rows(path, file_format))
