"""Which symbols to collect on an exchange, and how (one multi-ticker stream, per-symbol streams,
or REST polling), decided from ccxt's markets and ``has`` flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extract.collector.config import CollectorConfig

PREFERRED_QUOTES = ("USDT", "USD", "USDC", "EUR", "BTC")

STREAM_TICKERS = "watch_tickers"
STREAM_PER_SYMBOL = "watch_ticker"
STREAM_REST = "fetch_tickers"


@dataclass(frozen=True)
class CollectionPlan:
    mode: str
    symbols: tuple[str, ...]
    market_types: Mapping[str, str]
    skipped_symbols: tuple[str, ...]


def choose_mode(has: Mapping[str, Any], config: CollectorConfig) -> str | None:
    """The best way to get every ticker update; None when the exchange cannot be collected."""
    if has.get("watchTickers"):
        return STREAM_TICKERS
    if config.only_watch_tickers:
        return None
    if has.get("watchTicker"):
        return STREAM_PER_SYMBOL
    if has.get("fetchTickers"):
        return STREAM_REST
    return None


def _preference(market: Mapping[str, Any]) -> tuple[int, str]:
    quote = str(market.get("quote") or "")
    rank = PREFERRED_QUOTES.index(quote) if quote in PREFERRED_QUOTES else len(PREFERRED_QUOTES)
    return rank, str(market.get("symbol"))


def plan_collection(
    markets: Mapping[str, Mapping[str, Any]], has: Mapping[str, Any], config: CollectorConfig
) -> CollectionPlan | str:
    """A collection plan, or the reason the exchange is excluded."""
    mode = choose_mode(has, config)
    if mode is None:
        if config.only_watch_tickers:
            return "no watch_tickers (--only-watch-tickers)"
        return "no watch_ticker(s) or fetch_tickers"
    eligible = [
        market
        for market in markets.values()
        if market.get("active") is not False and (not config.only_spot or market.get("spot"))
    ]
    by_symbol = {str(market["symbol"]): market for market in eligible}
    skipped: tuple[str, ...] = ()
    if config.symbols:
        chosen = [symbol for symbol in config.symbols if symbol in by_symbol]
        skipped = tuple(symbol for symbol in config.symbols if symbol not in by_symbol)
    else:
        chosen = [str(market["symbol"]) for market in sorted(eligible, key=_preference)]
    limit = config.max_symbols_per_exchange
    if mode == STREAM_PER_SYMBOL:
        limit = min(limit, config.max_symbol_streams_per_exchange)
    chosen = chosen[:limit]
    if not chosen:
        return "no matching active spot markets" if config.only_spot else "no matching markets"
    market_types = {symbol: str(by_symbol[symbol].get("type") or "spot") for symbol in chosen}
    return CollectionPlan(mode, tuple(chosen), market_types, skipped)
