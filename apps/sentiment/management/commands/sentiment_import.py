"""Import articles from a CSV or JSON Lines file, with the same checks and dedupe as the API."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.sentiment.ingest.files import FORMATS, FileRow, file_format_guess, file_row_count
from apps.sentiment.ingest.files import file_rows as read_file_rows
from apps.sentiment.ingest.services import RowStatus, articles_ingest

BATCH_ROWS = 500
ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import articles from PATH (CSV with a header row, or JSON Lines). Columns/keys: "
        "id, title, body, url, source, published_at, language. Re-importing a file adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--format", choices=FORMATS, help="default: from the file name (.csv, .jsonl)"
        )
        parser.add_argument(
            "--source", default="", help="publisher name for rows that do not name one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            file_format = options["format"] or file_format_guess(path)
            total = file_row_count(path, file_format)
            rows = read_file_rows(path, file_format)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(str(exc)) from exc

        counts = {RowStatus.CREATED: 0, RowStatus.DUPLICATE: 0, RowStatus.ERROR: 0}
        errors: list[tuple[int, str]] = []
        # tqdm redraws its line with "\r": no newline added, no error colour.
        self.stderr.ending = ""
        self.stderr.style_func = None
        with tqdm(total=total, unit="row", desc=path.name, file=self.stderr) as bar:
            while batch := list(islice(rows, BATCH_ROWS)):
                for line, status, message in self._import_batch(batch, options["source"]):
                    counts[status] += 1
                    if message:
                        errors.append((line, message))
                bar.update(len(batch))

        self.stdout.write(
            f"{path.name}: {sum(counts.values())} rows, created {counts[RowStatus.CREATED]}, "
            f"duplicates {counts[RowStatus.DUPLICATE]}, errors {counts[RowStatus.ERROR]}"
        )
        for line, message in errors[:ERRORS_SHOWN]:
            self.stdout.write(f"  line {line}: {message}")
        if len(errors) > ERRORS_SHOWN:
            self.stdout.write(f"  ... and {len(errors) - ERRORS_SHOWN} more errors")

    def _import_batch(self, batch: list[FileRow], source_name: str) -> list[tuple[int, str, str]]:
        """(line, status, error message) per row; unreadable lines never reach the service."""
        readable = [r for r in batch if not r.error]
        report = articles_ingest(
            [r.row for r in readable], source_name=source_name, channel="import"
        )
        outcomes = {
            r.line: (result.status, _error_text(result.errors))
            for r, result in zip(readable, report.results, strict=True)
        }
        return [
            (r.line, RowStatus.ERROR, r.error) if r.error else (r.line, *outcomes[r.line])
            for r in batch
        ]


def _error_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
