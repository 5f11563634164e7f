"""What a batch endpoint answers: one result per row, in request order, plus counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.recommender.exceptions import BatchTooLarge


@dataclass
class RowResult:
    index: int
    external_id: str | None
    status: str  # created | updated | unchanged | duplicate | error
    errors: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    results: list[RowResult]

    def count(self, status: str) -> int:
        return Counter(result.status for result in self.results)[status]


def batch_size_check(rows: Sequence[Any]) -> None:
    """A batch over RECOMMENDER_MAX_BATCH_ROWS is refused whole (400), before any row is read."""
    limit = settings.RECOMMENDER_MAX_BATCH_ROWS
    if len(rows) > limit:
        raise BatchTooLarge(rows=len(rows), limit=limit)


def row_external_id(row: Any, key: str) -> str | None:
    """The row's id as sent (for the result line), even when the row is invalid."""
    if isinstance(row, dict):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def serializer_errors(errors: Any) -> dict[str, Any]:
    """DRF's ErrorDetail lists as plain strings, for JSON and for tests."""
    if isinstance(errors, dict):
        return {name: serializer_errors(value) for name, value in errors.items()}
    if isinstance(errors, list):
        return [serializer_errors(value) for value in errors]  # type: ignore[return-value]
    return str(errors)
