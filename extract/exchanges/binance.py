"""binance spot: the full 24 h ticker stream (``<symbol>@ticker``) through ``watch_tickers``.

Its ``timestamp`` in ccxt is the 24 h statistics close time ``C``, not the event: the event time
is ``E``. A polled REST ticker (``/api/v3/ticker/24hr``) has no event time, only ``closeTime``,
when the snapshot was taken.
"""

from __future__ import annotations

from extract.exchanges.spec import ExchangeSpec

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
)
