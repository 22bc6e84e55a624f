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
- ``fast_path`` (optional): a :class:`FastTickerPath` that reads the channel's ticker frames
  without ccxt's unified-ticker build (see :mod:`extract.collector.capture`).

An exchange without a module of its own gets :func:`generic_spec`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

TimeField = tuple[str, str]

# a number as ccxt's Precise reads it exactly: optional sign, digits, a fraction, an exponent
_PLAIN_DECIMAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


class TickerValues(NamedTuple):
    """One raw ticker's values with ccxt's unified meaning: prices as ``safe_ticker`` gives them
    (a zero or unparsable price is None), volumes as floats (zero kept)."""

    market_id: str
    last: float | None
    bid: float | None
    ask: float | None
    open: float | None
    high: float | None
    low: float | None
    base_volume: float | None
    quote_volume: float | None


# one ticker read straight from its frame's text: its values and the exchange's time, epoch ms
SingleTicker = tuple[TickerValues, int]


@dataclass(frozen=True)
class FastTickerPath:
    """How to read one exchange's ticker frames straight from the decoded JSON.

    - ``raw_tickers(frame)``: the frame's raw ticker objects (what ccxt keeps as ``info``), or
      None when the frame is not a ticker frame of the subscribed channel;
    - ``values(raw)``: the values of one raw ticker, or None whenever ccxt would have to derive
      one of them from others (e.g. no last price): such a frame is left to ccxt;
    - ``single_ticker(text)`` (optional): reads a frame that is exactly one ticker of the
      channel straight from its text with a typed decoder, which converts only the fields that
      are landed (cheaper than decoding the whole frame and reading it with ``values``). It
      gives the ticker's values and its exchange time in epoch ms, or None whenever the frame is
      anything else or a field is not in the form whose conversion is exactly ``values``'s:
      such a frame goes the ``raw_tickers`` / ``values`` way.

    ccxt's parser stays the reference: the capture maps a market id to its symbol only after
    ccxt parsed a ticker of it on that connection and ``values`` agreed with ccxt's result.
    """

    raw_tickers: Callable[[Any], list[Any] | None]
    values: Callable[[Any], TickerValues | None]
    single_ticker: Callable[[str], SingleTicker | None] | None = None


def unified_amount(value: Any) -> float | None:
    """A volume as ccxt's ``safe_ticker`` gives it: ``parse_number`` (a zero stays zero)."""
    kind = type(value)
    if kind is str:
        try:
            return float(value)
        except ValueError:
            return None
    if kind is float or kind is int:
        return float(value)
    return None


def unified_price(value: Any) -> float | None:
    """A price as ccxt's ``safe_ticker`` gives it: ``omit_zero`` then ``parse_number``."""
    number = unified_amount(value)
    return number if number != 0 else None


def decimal_text(value: Any) -> str | None:
    """The text ccxt's ``safe_string`` hands its exact decimal arithmetic (``Precise``): the
    text as sent, a JSON number as ``str``; None unless it is a plain decimal, so a fast
    reading leaves anything else to ccxt."""
    kind = type(value)
    if kind is float or kind is int:
        value = str(value)
    elif kind is not str:
        return None
    return value if _PLAIN_DECIMAL.fullmatch(value) else None


@dataclass(frozen=True)
class ExchangeSpec:
    exchange_id: str
    ticker_handlers: tuple[str, ...]
    exchange_time: tuple[TimeField, ...]
    ccxt_options: Mapping[str, Any] = field(default_factory=lambda: {"defaultType": "spot"})
    fast_path: FastTickerPath | None = None

    def __post_init__(self) -> None:
        if self.fast_path is not None and any(s == "ccxt" for s, _ in self.exchange_time):
            raise ValueError(
                f"{self.exchange_id}: a fast path has no unified ticker, so its exchange time "
                "must be read from the raw ticker ('info') or the frame"
            )


def generic_spec(exchange_id: str) -> ExchangeSpec:
    """Any other ccxt.pro exchange: hook ``handle_message`` (every ticker stored while handling
    any frame is captured) and take ccxt's unified ``timestamp`` as the exchange time."""
    return ExchangeSpec(exchange_id, ("handle_message",), (("ccxt", "timestamp"),))
