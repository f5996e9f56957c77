"""Log lines: text for people (the default), or LOG_FORMAT=json for a log pipeline, one
JSON object per line with time, level, logger, message, the request id and the GraphQL
operation of the request that logged it (context variables, app.observability.context).

No request headers are ever logged; as a second line of defence a bearer token that ends
up in a message anyway (an exception's text) is blanked."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TextIO

import orjson

from app.config import LogFormat, Settings
from app.observability.context import current_observation, current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
_HANDLER_NAME = "fulfillment"


def redacted(text: str) -> str:
    return _BEARER.sub(r"\1[redacted]", text)


class RequestFields(logging.Filter):
    """Puts `request_id` and `operation` on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        observation = current_observation()
        record.operation = observation.operation if observation is not None else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redacted(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
            "operation": getattr(record, "operation", None),
        }
        if record.exc_info:
            line["exception"] = redacted(self.formatException(record.exc_info))
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        return redacted(super().format(record))


def log_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """Standard error (or `stream`), with the request's fields, in the format asked for."""
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestFields())
    json = log_format is LogFormat.JSON
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    return handler


def configure_logging(settings: Settings) -> None:
    """One handler on the root logger (replacing ours from an earlier call) at LOG_LEVEL;
    uvicorn's loggers propagate to it instead of printing on their own."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    root.addHandler(log_handler(settings.log_format))
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
