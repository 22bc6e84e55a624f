"""binance spot: the full 24 h ticker stream (``<symbol>@ticker``) through ``watch_tickers``.

Its ``timestamp`` in ccxt is the 24 h statistics close time ``C``, not the event: the event time
is ``E``. A polled REST ticker (``/api/v3/ticker/24hr``) has no event time, only ``closeTime``,
when the snapshot was taken.

Each frame is one ``24hrTicker`` object; the fast path reads its fields as ccxt's
``parse_ws_ticker`` maps them (``c`` last, ``b``/``a`` best bid/ask, ``o``/``h``/``l``, ``v`` base
and ``q`` quote volume).
"""

from __future__ import annotations

from typing import Any

from extract.exchanges.spec import (
    ExchangeSpec,
    FastTickerPath,
    TickerValues,
    unified_amount,
    unified_price,
)

# ccxt's handle_message looks at these before the event type (a stream or API wrapper, an error
# or status, a subscription id): a frame carrying any of them is left to ccxt
_CCXT_LOOKS_FIRST = frozenset({"stream", "event", "data", "status", "error", "id"})


def _raw_tickers(frame: Any) -> list[Any] | None:
    if type(frame) is dict and frame.get("e") == "24hrTicker":
        return [frame] if _CCXT_LOOKS_FIRST.isdisjoint(frame) else None
    return None


def _values(raw: Any) -> TickerValues | None:
    get = raw.get
    market_id = get("s")
    last = unified_price(get("c"))
    open_ = unified_price(get("o"))
    # without a last or open price ccxt derives one from the change fields: leave it to ccxt
    if type(market_id) is not str or last is None or open_ is None:
        return None
    return TickerValues(
        market_id,
        last,
        unified_price(get("b")),
        unified_price(get("a")),
        open_,
        unified_price(get("h")),
        unified_price(get("l")),
        unified_amount(get("v")),
        unified_amount(get("q")),
    )


SPEC = ExchangeSpec(
    exchange_id="binance",
    ticker_handlers=("handle_tickers",),
    exchange_time=(("info", "E"), ("info", "closeTime")),
    ccxt_options={
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchMargins": False,
        # sapi capital/config/getall needs keys; ccxt skips it without keys, say so explicitly
        "fetchCurrencies": False,
        # the full 24h ticker carries bid/ask; ccxt's default for watch_tickers is miniTicker
        "watchTickers": {"name": "ticker"},
    },
    fast_path=FastTickerPath(raw_tickers=_raw_tickers, values=_values),
)
