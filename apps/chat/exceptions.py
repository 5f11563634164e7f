from __future__ import annotations

from ml.errors import ServiceError


class ChatError(ServiceError):
    """Anything a chat client did that we refuse; `code` goes into the error frame."""

    code = "chat_error"
