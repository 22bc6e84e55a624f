"""okx spot: the ``tickers`` channel, one ticker per frame; ``ts`` (epoch ms as text) per ticker.

A frame is ``{"arg": {"channel": "tickers", "instId": ...}, "data": [ticker, ...]}``; ccxt
stores each ticker under the symbol of ``arg.instId``. The fast path reads the fields as ccxt's
``parse_ticker`` maps them (``last``, ``bidPx``/``askPx``, ``open24h``/``high24h``/``low24h``,
``vol24h`` base and, for spot, ``volCcy24h`` quote volume).
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

# ccxt's handle_message raises on a non-zero code and routes on event/op before the channel: a
# frame carrying any of them is left to ccxt
_CCXT_LOOKS_FIRST = frozenset({"code", "event", "op"})


def _raw_tickers(frame: Any) -> list[Any] | None:
    if type(frame) is not dict or not _CCXT_LOOKS_FIRST.isdisjoint(frame):
        return None
    arg, data = frame.get("arg"), frame.get("data")
    if type(arg) is not dict or arg.get("channel") != "tickers" or type(data) is not list:
        return None
    market_id = arg.get("instId")
    # ccxt files every ticker of the frame under arg's market; a ticker of another market in it
    # would be landed under that symbol, so such a frame is left to ccxt
    if any(type(raw) is not dict or raw.get("instId") != market_id for raw in data):
        return None
    return data


def _values(raw: Any) -> TickerValues | None:
    get = raw.get
    market_id = get("instId")
    if type(market_id) is not str:
        return None
    return TickerValues(
        market_id,
        unified_price(get("last")),
        unified_price(get("bidPx")),
        unified_price(get("askPx")),
        unified_price(get("open24h")),
        unified_price(get("high24h")),
        unified_price(get("low24h")),
        unified_amount(get("vol24h")),
        # ccxt reads the quote volume for spot markets only; the capture's check against ccxt's
        # first parse of each market keeps any other market off the fast path
        unified_amount(get("volCcy24h")),
    )


SPEC = ExchangeSpec(
    exchange_id="okx",
    ticker_handlers=("handle_ticker",),
    exchange_time=(("info", "ts"),),
    ccxt_options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
    fast_path=FastTickerPath(raw_tickers=_raw_tickers, values=_values),
)
