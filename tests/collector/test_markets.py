"""Which symbols, and how: multi-ticker stream, per-symbol streams, REST polling, or excluded."""

from __future__ import annotations

from extract.collector.config import build_config
from extract.collector.markets import (
    STREAM_PER_SYMBOL,
    STREAM_REST,
    STREAM_TICKERS,
    choose_mode,
    plan_collection,
)

MARKETS = {
    "ETH/BTC": {"symbol": "ETH/BTC", "quote": "BTC", "spot": True, "type": "spot"},
    "BTC/USDT": {"symbol": "BTC/USDT", "quote": "USDT", "spot": True, "type": "spot"},
    "SOL/USDT": {"symbol": "SOL/USDT", "quote": "USDT", "spot": True, "type": "spot"},
    "OLD/USDT": {"symbol": "OLD/USDT", "quote": "USDT", "spot": True, "active": False},
    "BTC/USDT:USDT": {"symbol": "BTC/USDT:USDT", "quote": "USDT", "spot": False, "type": "swap"},
    "XRP/EUR": {"symbol": "XRP/EUR", "quote": "EUR", "spot": True, "type": "spot"},
}


def test_mode_prefers_one_multi_ticker_stream_then_per_symbol_then_rest() -> None:
    config = build_config({}, source="test")
    assert choose_mode({"watchTickers": True, "watchTicker": True}, config) == STREAM_TICKERS
    assert choose_mode({"watchTicker": True, "fetchTickers": True}, config) == STREAM_PER_SYMBOL
    assert choose_mode({"fetchTickers": True}, config) == STREAM_REST
    assert choose_mode({}, config) is None
    only = build_config({"only_watch_tickers": True}, source="test")
    assert choose_mode({"watchTicker": True}, only) is None


def test_active_spot_markets_usdt_first_limited() -> None:
    config = build_config({"max_symbols_per_exchange": 3}, source="test")
    plan = plan_collection(MARKETS, {"watchTickers": True}, config)
    assert not isinstance(plan, str)
    assert plan.symbols == ("BTC/USDT", "SOL/USDT", "XRP/EUR")
    assert plan.market_types == {"BTC/USDT": "spot", "SOL/USDT": "spot", "XRP/EUR": "spot"}


def test_per_symbol_streams_are_capped_and_unlisted_symbols_reported() -> None:
    config = build_config(
        {"symbols": "SOL/USDT,ETH/BTC,DOGE/USDT,BTC/USDT", "max_symbol_streams_per_exchange": 2},
        source="test",
    )
    plan = plan_collection(MARKETS, {"watchTicker": True}, config)
    assert not isinstance(plan, str)
    assert plan.mode == STREAM_PER_SYMBOL
    assert plan.symbols == ("SOL/USDT", "ETH/BTC")
    assert plan.skipped_symbols == ("DOGE/USDT",)


def test_an_exchange_without_a_usable_market_or_api_is_excluded_with_a_reason() -> None:
    config = build_config({"symbols": "NOPE/USDT"}, source="test")
    assert plan_collection(MARKETS, {"watchTickers": True}, config) == (
        "no matching active spot markets"
    )
    assert plan_collection(MARKETS, {}, build_config({}, source="test")) == (
        "no watch_ticker(s) or fetch_tickers"
    )
