"""The URL rule, the client factory and the market model, without a server."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from extract.exchanges.client import build_exchange, rewrite_url
from extract.sandbox.market import MINUTE_MS, MarketModel, VenueStyle
from extract.sandbox.venues import VENUES

SANDBOX = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        ("wss://stream.binance.com:9443/ws", "ws://127.0.0.1:8765/stream.binance.com/ws"),
        ("https://api.binance.com/api/v3", "http://127.0.0.1:8765/api.binance.com/api/v3"),
        ("wss://ws.kraken.com/v2", "ws://127.0.0.1:8765/ws.kraken.com/v2"),
        ("https://api.kraken.com", "http://127.0.0.1:8765/api.kraken.com"),
        ("https://{hostname}", "http://127.0.0.1:8765/{hostname}"),
        ("https://x.example/p?q=1", "http://127.0.0.1:8765/x.example/p?q=1"),
        ("not a url", "not a url"),
    ],
)
def test_rewrite_url_maps_scheme_host_port_path(real: str, expected: str) -> None:
    assert rewrite_url(real, SANDBOX) == expected


def test_rewrite_url_rejects_a_sandbox_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="sandbox_url must look like"):
        rewrite_url("https://api.kraken.com", "127.0.0.1:8765")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.mark.parametrize("exchange_id", VENUES)
@pytest.mark.parametrize("pro", [True, False])
def test_build_exchange_points_every_url_at_the_sandbox(exchange_id: str, pro: bool) -> None:
    exchange = build_exchange(exchange_id, sandbox_url=SANDBOX, pro=pro)
    urls = [text for text in _strings(exchange.urls) if "://" in text]
    assert urls
    assert all(text.startswith(("http://127.0.0.1:8765/", "ws://127.0.0.1:8765/")) for text in urls)
    assert exchange.enableRateLimit is True
    assert exchange.rateLimit < 50
    assert exchange.options.get("defaultType", "spot") == "spot"
    assert type(exchange).__module__.startswith("ccxt.pro.") is pro


def test_build_exchange_without_sandbox_keeps_real_urls_and_config_wins() -> None:
    exchange = build_exchange("okx", pro=False, config={"rateLimit": 321})
    assert exchange.urls["api"]["rest"] == "https://{hostname}"
    assert exchange.rateLimit == 321


def test_build_exchange_rejects_unknown_ids() -> None:
    with pytest.raises(ValueError, match="unknown ccxt exchange 'nasdaq'"):
        build_exchange("nasdaq")


def _model(seed: int) -> MarketModel:
    model = MarketModel(("BTC", "ETH"), seed, now_ms=1_790_000_000_000, history_ms=26 * 3_600_000)
    model.add_venue("a", VenueStyle(noise_bps=1.0, half_spread_bps=0.5, bias_bps=0.0))
    model.add_venue("b", VenueStyle(noise_bps=2.0, half_spread_bps=1.0, bias_bps=3.0))
    return model


def test_market_model_is_deterministic_per_seed() -> None:
    t = 1_790_000_000_000 - 3_600_000
    assert _model(1).fair_price("BTC", t) == _model(1).fair_price("BTC", t)
    assert _model(1).fair_price("BTC", t) != _model(2).fair_price("BTC", t)
    now = 1_790_000_000_000
    window = (t, t + 10 * MINUTE_MS, now)
    assert _model(1).candles("a", "ETH", *window) == _model(1).candles("a", "ETH", *window)


def test_candles_cover_24h_contiguously_and_track_the_fair_price() -> None:
    model = _model(3)
    end = 1_790_000_000_000 // MINUTE_MS * MINUTE_MS
    candles = model.candles("b", "BTC", end - 24 * 3_600_000, end, end)
    assert len(candles) == 1440
    assert all(b.open_ms - a.open_ms == MINUTE_MS for a, b in itertools.pairwise(candles))
    for candle in candles[::97]:
        fair = model.fair_price("BTC", candle.open_ms)
        assert candle.low <= candle.open <= candle.high
        assert abs(candle.open / fair - 1) < 0.005  # bias 3 bps + noise 2 bps


def test_exchanges_quote_the_same_coin_close_but_not_identically() -> None:
    model = _model(4)
    t = 1_790_000_000_000 - 60_000
    a, b = model.quote("a", "BTC", "USD", t, 0.01), model.quote("b", "BTC", "USD", t, 0.01)
    for quote in (a, b):
        assert quote.bid < quote.ask
        assert quote.low_24h <= quote.last <= quote.high_24h
        assert quote.event_ms == t
    assert a.last != b.last
    assert abs(a.last / b.last - 1) < 0.002


def test_the_current_candle_holds_only_the_seconds_so_far() -> None:
    model = _model(5)
    minute = 1_790_000_000_000 // MINUTE_MS * MINUTE_MS - MINUTE_MS
    now = minute + 20_500  # 20.5 s into the minute
    current = model.candles("a", "BTC", minute, minute + MINUTE_MS, now)[-1]
    complete = model.candles("a", "BTC", minute, minute + MINUTE_MS, minute + MINUTE_MS)[-1]
    assert current.open_ms == complete.open_ms == minute
    second = (now - model.anchor_ms) // 1000
    assert current.close == float(model.exchange_prices("a", "BTC", second, second + 1)[0])
    assert current.volume < complete.volume
    assert model.candles("a", "BTC", minute + MINUTE_MS, minute + 2 * MINUTE_MS, now) == []


def test_bid_and_ask_sit_on_the_tick_grid_at_least_one_tick_apart() -> None:
    model = _model(6)
    t = 1_790_000_000_000 - 5_000
    for tick in (0.01, 1.0, 100.0):  # 100 is far wider than the modelled spread
        quote = model.quote("a", "ETH", "USDT", t, tick)
        assert quote.ask - quote.bid >= tick * 0.999
        for price in (quote.bid, quote.ask):
            assert abs(price / tick - round(price / tick)) < 1e-6
