"""Log lines for stdout: JSON objects in production, plain text in development; share-link tokens never appear.

A share link's token is its only credential and it travels in the URL path (and so in Referer
headers and error messages): every formatter here masks it, whatever logger the line comes from.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

SHARE_TOKEN = re.compile(r"(/review/s/)[^/\s?#\"'<>]+")
REDACTED = "[redacted]"
# Set on a request the database outage guard answered and logged (config.middleware).
OUTAGE_LOGGED = "seed_database_outage_logged"


def secrets_redact(text: str) -> str:
    return SHARE_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return secrets_redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so a log shipper needs no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        status_code = getattr(record, "status_code", None)
        if status_code is not None:
            entry["status"] = status_code
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            entry["method"] = request.method
            entry["path"] = request.path
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return secrets_redact(json.dumps(entry, default=str))


class OutageEchoFilter(logging.Filter):
    """Drop Django's per-request line for a 503 the database outage guard answered and already logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(getattr(record, "request", None), OUTAGE_LOGGED, False)


def logging_config(*, json_lines: bool, level: str) -> dict:
    formatter = "json" if json_lines else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"()": PlainFormatter, "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": JsonFormatter},
        },
        "filters": {"outage_echo": {"()": OutageEchoFilter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": formatter,
                "filters": ["outage_echo"],
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        # Django's own handlers would print request errors a second time, unformatted.
        "loggers": {
            name: {"handlers": ["stdout"], "level": level, "propagate": False} for name in ("django", "django.server")
        },
    }
