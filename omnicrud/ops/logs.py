"""Stdlib logging for omnicrud, uvicorn and the drivers: JSON lines or a readable line.

One ``dictConfig`` (``log_config``) serves both the CLI process and every uvicorn worker
(uvicorn applies it in each worker). Every line carries the request id of the request it
belongs to; secrets are masked before a line is written; a database outage gives one line
per change of state, not a traceback per reconnection attempt.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from omnicrud.core.hooks import REQUEST_ID

Format = Literal["json", "text"]
ACCESS_LOGGER = "omnicrud.access"
DRIVER_LOGGERS = ("asyncpg", "aiomysql", "pymysql", "pymongo", "sqlalchemy", "alembic")
REPEAT_AFTER = 60.0
"""Seconds after which a suppressed outage line is written again (with a count)."""

_SECRETS = (
    # userinfo password in any URL: scheme://user:PASSWORD@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']*:)[^@\s\"']+@", re.I), r"\1***@"),
    # Authorization values and bearer tokens
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 ***"),
    # key=value / "key": "value" for secret-looking keys
    (
        re.compile(
            r"""((?:password|passwd|secret|token|api[_-]?key|authorization)["']?\s*[:=]\s*["']?)"""
            r"""[^"'\s,&}]+""",
            re.I,
        ),
        r"\1***",
    ),
)


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def resolve_format(setting: str) -> Format:
    """``json``/``text`` as set; ``auto``: text on a terminal, JSON otherwise."""
    if setting in ("json", "text"):
        return setting  # type: ignore[return-value]
    return "text" if sys.stderr.isatty() else "json"


def _time(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, plus the
    ``access`` fields of an access line and ``exception`` (a string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        access = getattr(record, "access", None)
        if access is not None:
            line.update(access)
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return mask_secrets(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    """``2025-01-02T03:04:05.678Z INFO  omnicrud.access [rid] message``."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        text = f"{_time(record)} {record.levelname:<7} {record.name}"
        text += f" [{rid}] " if rid else " "
        text += record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return mask_secrets(text)


def formatter(fmt: Format = "json") -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


class ContextFilter(logging.Filter):
    """Stamps every record with the current request's id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class OutageFilter(logging.Filter):
    """Drivers and backends during an outage: one line per change of state.

    A warning or error from a driver logger (or ``omnicrud.backends``) loses its traceback
    (the exception's class is appended instead) and is dropped while it repeats the last
    line of that logger; it is written again, with the count, after ``REPEAT_AFTER`` s.
    """

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.last: dict[str, tuple[Any, float, int]] = {}

    @staticmethod
    def _watched(name: str) -> bool:
        return name.startswith(DRIVER_LOGGERS) or name.startswith("omnicrud.backends")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not self._watched(record.name):
            return True
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})".replace("\n", " ")
            record.args = None
            record.exc_info = None
            record.exc_text = None
        key = (record.msg, record.args if isinstance(record.args, tuple) else None)
        now = time.monotonic()
        previous = self.last.get(record.name)
        if previous is not None and previous[0] == key and now - previous[1] < REPEAT_AFTER:
            self.last[record.name] = (key, previous[1], previous[2] + 1)
            return False
        if previous is not None and previous[0] == key and previous[2]:
            record.msg = f"{record.getMessage()} (repeated {previous[2]} times)"
            record.args = None
        self.last[record.name] = (key, now, 0)
        return True


def log_config(fmt: Format, level: str = "INFO", access_log: bool = True) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for the CLI and for uvicorn's ``log_config``."""
    level = level.upper()
    quiet = {"level": "WARNING", "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": ContextFilter},
            "outage": {"()": OutageFilter},
        },
        "formatters": {"omnicrud": {"()": formatter, "fmt": fmt}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "omnicrud",
                "filters": ["context", "outage"],
            }
        },
        "loggers": {
            "omnicrud": {"level": level, "handlers": [], "propagate": True},
            ACCESS_LOGGER: {
                "level": "INFO" if access_log else "WARNING",
                "handlers": [],
                "propagate": True,
            },
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            # ours replaces it: same request, without the raw path and query string
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            **{name: quiet for name in DRIVER_LOGGERS},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


def configure(fmt: Format, level: str = "INFO", access_log: bool = True) -> dict[str, Any]:
    """Configure logging in this process; returns the config for uvicorn to apply too."""
    config = log_config(fmt, level, access_log)
    logging.config.dictConfig(config)
    return config
