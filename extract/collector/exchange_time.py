"""The exchange's own event time of one ticker, read where its spec says it lives.

The places are data (:attr:`extract.exchanges.ExchangeSpec.exchange_time`), tried in order; a
value may be epoch ms (int or digit string) or ISO-8601 text (coinbase sends nanoseconds, cut to
microseconds here). No time is ever invented: None when none is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from extract.exchanges import ExchangeSpec
from extract.timeutil import parse_utc


def _epoch_ms(value: Any) -> int | None:
    if type(value) is int:  # the common case first: this runs once per tick
        return value if value > 0 else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value > 0 else None
    if isinstance(value, str) and value:
        if value.isdigit():
            return int(value)
        try:
            return int(parse_utc(_trim_fraction_to_micros(value)).timestamp() * 1000)
        except ValueError:
            return None
    return None


def _trim_fraction_to_micros(value: str) -> str:
    # Python parses at most 6 fractional digits; coinbase sends nanoseconds.
    head, dot, tail = value.partition(".")
    if not dot:
        return value
    digits = len(tail) - len(tail.lstrip("0123456789"))
    return f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"


def exchange_time_ms(
    spec: ExchangeSpec, raw: Any, frame: Any, unified: Mapping[str, Any] | None = None
) -> int | None:
    """The exchange's event time for one ticker, in epoch ms, or None when it sent none.

    ``raw`` is the raw ticker (ccxt's ``info``), ``frame`` the decoded message; ``("ccxt", ...)``
    places read ccxt's ``unified`` ticker, which the fast path does not have (its specs may not
    declare such places)."""
    for scope, key in spec.exchange_time:
        if scope == "info":
            container = raw
        elif scope == "frame":
            container = frame
        else:
            container = unified
        if isinstance(container, dict):
            value = _epoch_ms(container.get(key))
            if value is not None:
                return value
    return None
