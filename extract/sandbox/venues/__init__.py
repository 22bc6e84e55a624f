"""The four fake exchanges, by ccxt id."""

from __future__ import annotations

from extract.sandbox.venue import Venue
from extract.sandbox.venues.binance import Binance

VENUES: dict[str, type[Venue]] = {
    "binance": Binance,
}
