"""The one error base every service raises; edges turn it into a 4xx or an error frame."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A failure the caller can act on. `code` is stable for clients to branch on."""

    code = "service_error"
    status_code = 400

    def __init__(
        self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": self.extra}


class NotFound(ServiceError):
    code = "not_found"
    status_code = 404


class Conflict(ServiceError):
    code = "conflict"
    status_code = 409
