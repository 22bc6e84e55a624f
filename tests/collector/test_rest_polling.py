"""REST polling (exchanges without websockets) against the sandbox's real REST ticker format."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collector.harness import InProcessCollector, fast_config, query, report
from extract.collector import session as session_module
from extract.exchanges.client import build_exchange

SYMBOLS = ("BTC/USDT", "ETH/USDT")
CHANGES_WANTED = 3


@pytest.mark.slow
def test_rest_polling_lands_changed_tickers_only_stamped_and_sourced(
    tmp_path: Path, start_sandbox: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exchange with neither watch_tickers nor watch_ticker is polled with fetch_tickers.
    Polled faster than the market moves (binance about once a second), each ticker lands only
    when its content changed, as source 'rest' with the exchange's time and a reception time."""

    def without_websockets(*args: Any, **kwargs: Any) -> Any:
        exchange = build_exchange(*args, **kwargs)
        exchange.has = {**exchange.has, "watchTickers": False, "watchTicker": False}
        return exchange

    monkeypatch.setattr(session_module, "build_exchange", without_websockets)
    url = start_sandbox("--exchanges", "binance")
    config = fast_config(
        tmp_path, url, exchanges=("binance",), symbols=SYMBOLS, rest_poll_interval_s=0.1
    )

    async def scenario() -> tuple[str, int]:
        async with InProcessCollector(config, ["binance"]) as run:
            session = run.session("binance")

            def changed_and_unchanged_seen() -> bool:
                landed = run.count("SELECT count(*) FROM market_ticks WHERE source = 'rest'")
                return (
                    landed >= CHANGES_WANTED * len(SYMBOLS) and session.unchanged_polled_tickers > 0
                )

            await run.until(changed_and_unchanged_seen, 30, "changed and unchanged polls")
            assert session.plan is not None
            return session.plan.mode, session.unchanged_polled_tickers

    mode, unchanged = asyncio.run(scenario())
    rows = query(
        config.worker_db_path(0),
        "SELECT symbol, price, bid, ask, base_volume, exchange_ts_source, exchange_ts_ms, "
        "ingestion_ts_us FROM market_ticks WHERE source = 'rest' ORDER BY id",
    )
    sources = {row[5] for row in rows}
    repeats = 0
    previous: dict[str, tuple[object, ...]] = {}
    for symbol, *content, _, _, _ in rows:
        repeats += previous.get(symbol) == tuple(content)
        previous[symbol] = tuple(content)
    report(
        "REST polling lands changed tickers only",
        f"binance without websockets, {SYMBOLS} polled every 0.1 s, updated about once a second",
        "mode fetch_tickers; rows only where the ticker changed; exchange time and reception time",
        f"mode={mode} rows={len(rows)} unchanged polls skipped={unchanged} "
        f"consecutive repeats={repeats} exchange_ts_source={sources}",
    )
    assert mode == "fetch_tickers"
    assert {row[0] for row in rows} == set(SYMBOLS)
    assert len(rows) >= CHANGES_WANTED * len(SYMBOLS)
    assert unchanged > 0, "polling faster than the market must meet unchanged tickers"
    assert repeats == 0
    assert sources == {"exchange"}
    assert all(row[6] is not None and row[7] >= row[6] * 1000 for row in rows)
