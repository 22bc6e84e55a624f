"""kraken spot: the v2 ``ticker`` channel.

ccxt leaves the unified ``timestamp`` empty; the v2 ticker data holds ``timestamp`` when the
exchange sends one, else the message does.
"""

from __future__ import annotations

from extract.exchanges.spec import ExchangeSpec

SPEC = ExchangeSpec(
    exchange_id="kraken",
    ticker_handlers=("handle_ticker",),
    exchange_time=(("info", "timestamp"), ("frame", "timestamp")),
    ccxt_options={},
)
