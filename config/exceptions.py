"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from ml.errors import ServiceError

logger = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_S = 1


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF hook: services' errors, validation, 403 and 404 all leave in the same shape."""
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.extra), status=exc.status_code)
    if isinstance(exc, OperationalError):
        # PostgreSQL refused a connection ("too many clients") or dropped it: not the client's
        # fault and not a bug here; the same request can succeed in a moment.
        logger.warning("database unavailable: %s", exc)
        set_rollback()
        response = Response(
            error_body(
                "database_unavailable",
                f"The database is busy; retry in {DATABASE_RETRY_AFTER_S} s.",
            ),
            status=503,
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = drf_exceptions.ValidationError(detail=detail)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = error_body("invalid", "The request has invalid fields.", response.data)
    elif isinstance(exc, drf_exceptions.APIException):
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    return response


def json_error(code: str, message: str, status: int) -> JsonResponse:
    """For plain Django views (health, handlers) that are not DRF views."""
    return JsonResponse(error_body(code, message), status=status)


def handler404(request, exception=None) -> JsonResponse:  # noqa: ANN001
    return json_error("not_found", f"No route for {request.path}", 404)


def handler500(request) -> JsonResponse:  # noqa: ANN001
    return json_error("server_error", "Internal error; it has been logged.", 500)
