"""coinbase (Advanced Trade): the ``ticker`` channel through ``watch_tickers``.

The message carries the time (``timestamp``, ISO text with nanoseconds), not each ticker.
Markets come from the v3 API (``fetchMarketsV3``), which needs no keys.
"""

from __future__ import annotations

from extract.exchanges.spec import ExchangeSpec

SPEC = ExchangeSpec(
    exchange_id="coinbase",
    ticker_handlers=("handle_tickers",),
    exchange_time=(("frame", "timestamp"),),
    ccxt_options={"fetchMarkets": "fetchMarketsV3"},
)
