"""kraken spot: the v2 ``ticker`` channel.

ccxt leaves the unified ``timestamp`` empty; the v2 ticker data holds ``timestamp`` when the
exchange sends one, else the message does.

A frame is ``{"channel": "ticker", "type": "snapshot"|"update", "data": [ticker]}``; ccxt reads
``data[0]`` only, takes its ``symbol`` as the unified symbol, and derives two values with exact
decimal arithmetic: the open as ``last - change`` and the quote volume as ``volume * vwap``. The
fast path computes both exactly too (as fractions, rounded to a float once, as ccxt's decimal
string is), and leaves to ccxt any ticker whose numbers are not plain decimals.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from extract.exchanges.spec import (
    ExchangeSpec,
    FastTickerPath,
    TickerValues,
    decimal_text,
    unified_amount,
    unified_price,
)


def _exact(value: Any) -> Fraction | None:
    """The exact value ccxt's ``Precise`` computes with."""
    text = decimal_text(value)
    return Fraction(text) if text is not None else None


_CCXT_ALSO_HANDLES = frozenset({"error", "errorMessage", "event", "method"})


def _raw_tickers(frame: Any) -> list[Any] | None:
    if type(frame) is not dict or frame.get("channel") != "ticker":
        return None
    # after the ticker ccxt also acts on these (an error may reject a pending request): leave
    # such a frame to ccxt
    if not _CCXT_ALSO_HANDLES.isdisjoint(frame):
        return None
    data = frame.get("data")
    if type(data) is not list or not data:
        return None
    return data[:1]


def _values(raw: Any) -> TickerValues | None:
    get = raw.get
    symbol = get("symbol")
    last = unified_price(get("last"))
    exact_last, change = _exact(get("last")), _exact(get("change"))
    volume, vwap = get("volume"), get("vwap")
    exact_volume, exact_vwap = _exact(volume), _exact(vwap)
    # without these ccxt derives values another way (or fails): leave the ticker to it
    if type(symbol) is not str or last is None or exact_last is None or change is None:
        return None
    if (volume is not None and exact_volume is None) or (vwap is not None and exact_vwap is None):
        return None
    open_ = float(exact_last - change)
    quote_volume = None
    if exact_volume is not None and exact_vwap is not None:
        quote_volume = float(exact_volume * exact_vwap)
    return TickerValues(
        symbol,
        last,
        unified_price(get("bid")),
        unified_price(get("ask")),
        open_ if open_ != 0 else None,
        unified_price(get("high")),
        unified_price(get("low")),
        unified_amount(volume),
        quote_volume,
    )


SPEC = ExchangeSpec(
    exchange_id="kraken",
    ticker_handlers=("handle_ticker",),
    exchange_time=(("info", "timestamp"), ("frame", "timestamp")),
    ccxt_options={},
    fast_path=FastTickerPath(raw_tickers=_raw_tickers, values=_values),
)
