"""Structured logs: one JSON object per line, with the ``extra`` fields a call site adds.

Secrets never reach a log line: call sites log ids and error kinds, never credentials or
request bodies, and :data:`REDACTED_KEYS` are masked should one slip into ``extra``.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

REDACTED_KEYS = frozenset(
    {"password", "auth_token", "api_key", "secret", "token", "credentials", "authorization"}
)
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = "[redacted]" if key.lower() in REDACTED_KEYS else value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback's frames can hold request data and secrets.
            entry["error"] = record.exc_info[0].__name__
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
