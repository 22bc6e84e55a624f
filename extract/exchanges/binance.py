"""binance spot: the full 24 h ticker stream (``<symbol>@ticker``) through ``watch_tickers``.

Its ``timestamp`` in ccxt is the 24 h statistics close time ``C``, not the event: the event time
is ``E``. A polled REST ticker (``/api/v3/ticker/24hr``) has no event time, only ``closeTime``,
when the snapshot was taken.

Each frame is one ``24hrTicker`` object; the fast path reads its fields as ccxt's
``parse_ws_ticker`` maps them (``c`` last, ``b``/``a`` best bid/ask, ``o``/``h``/``l``, ``v`` base
and ``q`` quote volume). Its typed reading decodes only those fields and ``E`` with msgspec,
numbers straight from their text (its conversion equals ``float`` for every decimal it accepts,
except that it gives ``-0`` as ``0.0``: zero volumes, whose sign is kept, take the dict reading).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from extract.exchanges.spec import (
    ExchangeSpec,
    FastTickerPath,
    SingleTicker,
    TickerValues,
    unified_amount,
    unified_price,
)

# ccxt's handle_message looks at these before the event type (a stream or API wrapper, an error
# or status, a subscription id): a frame carrying any of them is left to ccxt
_CCXT_LOOKS_FIRST = frozenset({"stream", "event", "data", "status", "error", "id"})
# TickerValues(...) runs the NamedTuple's Python-level __new__; per tick, build the tuple directly
_new_values = tuple.__new__


def _raw_tickers(frame: Any) -> list[Any] | None:
    if type(frame) is dict and frame.get("e") == "24hrTicker":
        # the view iterates the six keys, where frozenset.isdisjoint(frame) iterates the frame's
        return [frame] if frame.keys().isdisjoint(_CCXT_LOOKS_FIRST) else None
    return None


# The fields landed, as the types they land as (text numbers converted: strict=False); a frame
# with any key ccxt looks at first fails to decode, since those keys may only be absent (UNSET).
_Ticker = msgspec.defstruct(
    "_Ticker",
    [
        ("e", Literal["24hrTicker"]),
        ("E", int),
        ("s", str),
        *((field, float) for field in ("c", "b", "a", "o", "h", "l", "v", "q")),
        *((key, msgspec.UnsetType, msgspec.UNSET) for key in sorted(_CCXT_LOOKS_FIRST)),
    ],
    gc=False,
)
_decode_ticker = msgspec.json.Decoder(_Ticker, strict=False).decode


def _single_ticker(text: str) -> SingleTicker | None:
    try:
        ticker: Any = _decode_ticker(text)
    except msgspec.DecodeError:  # not JSON, or not such a ticker (a ValidationError)
        return None
    last, open_, base, quote, event_ms = ticker.c, ticker.o, ticker.v, ticker.q, ticker.E
    if not (event_ms > 0 and last and open_ and base and quote):
        return None
    bid, ask, high, low = ticker.b or None, ticker.a or None, ticker.h or None, ticker.l or None
    values = _new_values(TickerValues, (ticker.s, last, bid, ask, open_, high, low, base, quote))
    return values, event_ms


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
    fast_path=FastTickerPath(
        raw_tickers=_raw_tickers, values=_values, single_ticker=_single_ticker
    ),
)
