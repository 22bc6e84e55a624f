"""The four fake exchanges, by ccxt id."""

from __future__ import annotations

from extract.sandbox.venue import Venue
from extract.sandbox.venues.binance import Binance
from extract.sandbox.venues.coinbase import Coinbase
from extract.sandbox.venues.kraken import Kraken
from extract.sandbox.venues.okx import Okx

VENUES: dict[str, type[Venue]] = {
    "binance": Binance,
    "kraken": Kraken,
    "coinbase": Coinbase,
    "okx": Okx,
}
