"""The recommender's service errors (config/exceptions.py turns them into 4xx JSON)."""

from __future__ import annotations

from ml.errors import ServiceError


class BatchTooLarge(ServiceError):
    status_code = 400

    def __init__(self, *, rows: int, limit: int) -> None:
        super().__init__(
            f"{rows} rows in one request; send at most {limit} (RECOMMENDER_MAX_BATCH_ROWS)",
            code="batch_too_large",
            extra={"rows": rows, "limit": limit},
        )


class ItemNotFound(ServiceError):
    status_code = 404

    def __init__(self, *, external_id: str) -> None:
        super().__init__(
            f"no item {external_id!r} in this catalogue",
            code="item_not_found",
            extra={"item_id": external_id},
        )
