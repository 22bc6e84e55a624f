"""okx spot: the ``tickers`` channel, one ticker per frame; ``ts`` (epoch ms as text) per ticker."""

from __future__ import annotations

from extract.exchanges.spec import ExchangeSpec

SPEC = ExchangeSpec(
    exchange_id="okx",
    ticker_handlers=("handle_ticker",),
    exchange_time=(("info", "ts"),),
    ccxt_options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
)
