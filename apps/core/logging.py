"""One JSON object per log line, for log shippers (LOG_JSON=1)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload)


class LibraryRootChatter(logging.Filter):
    """Drop below-WARNING records that libraries send through the root logger.

    ONNX Runtime's quantiser calls `logging.info(...)` directly (about 40 lines per model at
    start-up: "Ignore MatMul due to non constant B", "Quantization parameters ... not
    specified"), so no logger level can quiet it without quieting everything. Records are
    matched by the file that logged them; named loggers are left to LOGGING["loggers"].
    """

    def __init__(self, paths: tuple[str, ...] = ("onnxruntime/quantization/",)) -> None:
        super().__init__()
        self.paths = paths

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or record.name != "root":
            return True
        pathname = record.pathname.replace("\\", "/")
        return not any(path in pathname for path in self.paths)
