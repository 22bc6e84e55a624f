"""coinbase (Advanced Trade): the ``ticker`` channel through ``watch_tickers``.

The message carries the time (``timestamp``, ISO text with nanoseconds), not each ticker.
Markets come from the v3 API (``fetchMarketsV3``), which needs no keys.

A frame is ``{"channel": "ticker", "timestamp": ..., "events": [{"tickers": [...]}, ...]}``;
ccxt parses every ticker with a ``product_id``. It has no open price: ccxt derives it from the
last price and ``price_percent_chg_24_h`` with its ``Precise`` decimal division, which the fast
path calls too, so the open is the same to the last digit.
"""

from __future__ import annotations

from typing import Any

from ccxt.base.precise import Precise

from extract.exchanges.spec import (
    ExchangeSpec,
    FastTickerPath,
    TickerValues,
    decimal_text,
    unified_amount,
    unified_price,
)

_TICKER_CHANNELS = frozenset({"ticker", "ticker_batch"})


def _raw_tickers(frame: Any) -> list[Any] | None:
    if type(frame) is not dict or frame.get("channel") not in _TICKER_CHANNELS:
        return None
    if frame.get("type") == "error":
        return None  # ccxt raises on it before reading any ticker
    events = frame.get("events")
    if type(events) is not list:
        return None
    raws: list[Any] = []
    for event in events:
        tickers = event.get("tickers") if type(event) is dict else None
        if type(tickers) is not list:
            continue
        # ccxt skips a ticker without a product_id; anything else in it is for ccxt to judge
        raws.extend(raw for raw in tickers if type(raw) is not dict or "product_id" in raw)
    return raws


def _open(last: float, change_pct: str) -> float | None:
    """ccxt's open: last / (1 + percentage / 100) in Precise arithmetic (18 decimals)."""
    if float(change_pct) == 0:
        return None  # ccxt drops a zero percentage, and then has no open
    growth = Precise.string_add("1", Precise.string_div(change_pct, "100"))
    return unified_price(Precise.string_div(str(last), growth))


def _values(raw: Any) -> TickerValues | None:
    get = raw.get
    market_id = get("product_id")
    last = unified_price(get("price"))
    # a percentage that is not a plain decimal may make ccxt fail: leave it to ccxt
    change_pct = decimal_text(get("price_percent_chg_24_h"))
    if type(market_id) is not str or last is None or change_pct is None:
        return None
    return TickerValues(
        market_id,
        last,
        unified_price(get("best_bid")),
        unified_price(get("best_ask")),
        _open(last, change_pct),
        unified_price(get("high_24_h")),
        unified_price(get("low_24_h")),
        unified_amount(get("volume_24_h")),
        None,  # ccxt reads no quote volume from this channel
    )


SPEC = ExchangeSpec(
    exchange_id="coinbase",
    ticker_handlers=("handle_tickers",),
    exchange_time=(("frame", "timestamp"),),
    ccxt_options={"fetchMarkets": "fetchMarketsV3"},
    fast_path=FastTickerPath(raw_tickers=_raw_tickers, values=_values),
)
