"""What the collector needs to know about each exchange, declared as data in one place.

- ``ticker_handlers``: the ccxt.pro methods that turn a ticker frame into unified tickers. The
  capture hooks them; every ticker they store while running is one landed update.
- ``exchange_time``: where the exchange's own event time lives, tried in order. ``("info", key)``
  reads the raw ticker ccxt keeps in ``ticker['info']``; ``("frame", key)`` reads the decoded
  websocket message; ``("ccxt", "timestamp")`` trusts ccxt's unified ``timestamp``. Values may be
  epoch ms (int or digit string) or ISO-8601 text. When none is present the tick is landed with
  ``exchange_ts_source = 'missing'``; no time is ever invented.

Why these fields: binance's full ticker puts the 24h stats close time in ``timestamp``; the event
time is ``E``; its REST ticker (polling) has no event time, only ``closeTime``, when the snapshot
was taken. kraken's ticker carries no time in ccxt (``timestamp`` is None); its v2 ticker data
holds ``timestamp`` when the exchange sends one. okx sends ``ts`` per ticker. coinbase stamps the
message (``timestamp`` with nanoseconds) rather than the ticker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extract.timeutil import parse_utc

TimeField = tuple[str, str]


@dataclass(frozen=True)
class ExchangeAdapter:
    exchange_id: str
    ticker_handlers: tuple[str, ...]
    exchange_time: tuple[TimeField, ...]


ADAPTERS: dict[str, ExchangeAdapter] = {
    "binance": ExchangeAdapter(
        "binance", ("handle_tickers",), (("info", "E"), ("info", "closeTime"))
    ),
    "kraken": ExchangeAdapter(
        "kraken", ("handle_ticker",), (("info", "timestamp"), ("frame", "timestamp"))
    ),
    "okx": ExchangeAdapter("okx", ("handle_ticker",), (("info", "ts"),)),
    "coinbase": ExchangeAdapter("coinbase", ("handle_tickers",), (("frame", "timestamp"),)),
}


def adapter_for(exchange_id: str) -> ExchangeAdapter:
    """The declared adapter, or a generic one for the other ccxt.pro exchanges.

    The generic adapter hooks ``handle_message`` (so every ticker stored while handling any frame
    is captured) and takes ccxt's unified ``timestamp`` as the exchange time.
    """
    return ADAPTERS.get(
        exchange_id, ExchangeAdapter(exchange_id, ("handle_message",), (("ccxt", "timestamp"),))
    )


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


def exchange_time_ms(adapter: ExchangeAdapter, ticker: Mapping[str, Any], frame: Any) -> int | None:
    """The exchange's event time for one ticker, in epoch ms, or None when it sent none."""
    for scope, key in adapter.exchange_time:
        if scope == "info":
            container = ticker.get("info")
        elif scope == "frame":
            container = frame
        else:
            container = ticker
        if isinstance(container, dict):
            value = _epoch_ms(container.get(key))
            if value is not None:
                return value
    return None
