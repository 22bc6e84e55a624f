"""What the collector knows about one exchange, as data: :class:`ExchangeSpec`.

- ``ccxt_options``: deep-merged into the ccxt instance's ``options``: spot markets only, nothing
  that needs API keys, and (where ccxt lets one choose) the websocket channel to subscribe.
- ``ticker_handlers``: the ccxt.pro methods that turn a ticker frame of that channel into unified
  tickers. The capture hooks them; every ticker they store while running is one landed update.
- ``exchange_time``: where the exchange's own event time lives, tried in order.
  ``("info", key)`` reads the raw ticker ccxt keeps in ``ticker['info']``; ``("frame", key)``
  reads the decoded websocket message; ``("ccxt", "timestamp")`` trusts ccxt's unified
  ``timestamp``. Values may be epoch ms (int or digit string) or ISO-8601 text. When none is
  present the tick is landed with ``exchange_ts_source = 'missing'``; no time is ever invented.

An exchange without a module of its own gets :func:`generic_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TimeField = tuple[str, str]


@dataclass(frozen=True)
class ExchangeSpec:
    exchange_id: str
    ticker_handlers: tuple[str, ...]
    exchange_time: tuple[TimeField, ...]
    ccxt_options: Mapping[str, Any] = field(default_factory=lambda: {"defaultType": "spot"})


def generic_spec(exchange_id: str) -> ExchangeSpec:
    """Any other ccxt.pro exchange: hook ``handle_message`` (every ticker stored while handling
    any frame is captured) and take ccxt's unified ``timestamp`` as the exchange time."""
    return ExchangeSpec(exchange_id, ("handle_message",), (("ccxt", "timestamp"),))
