"""Structured logs: one event per line as ``key=value`` pairs, exchange and symbol always present.

``ts=2026-11-21T05:10:01.123+00:00 level=info event=connected worker=0 exchange=binance
symbol=- connection=3f2a...`` — grep-able, and parseable with ``shlex.split``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from extract.timeutil import iso_ms_from_epoch_us

LOGGER_NAME = "extract.collector"
_FIELDS_ATTR = "structured_fields"


def _quote(value: object) -> str:
    text = "-" if value is None else str(value)
    if text == "" or any(char in text for char in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, _FIELDS_ATTR, {})
        head = {
            "ts": iso_ms_from_epoch_us(int(record.created * 1_000_000)),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "exchange": fields.get("exchange"),
            "symbol": fields.get("symbol"),
        }
        rest = {key: value for key, value in fields.items() if key not in head}
        return " ".join(f"{key}={_quote(value)}" for key, value in {**head, **rest}.items())


def configure(level: str, log_file: str = "") -> None:
    """Log to stderr (and append to ``log_file``); safe to call again in a worker process."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    logger.setLevel(level.upper())
    logger.propagate = False
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(KeyValueFormatter())
        logger.addHandler(handler)


def describe_error(error: BaseException, limit: int = 300) -> str:
    """An error as one log or event field: ``Type: message``, at most ``limit`` characters."""
    return f"{type(error).__name__}: {error}"[:limit]


def log_event(level: int, event: str, **fields: Any) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS_ATTR: fields})
