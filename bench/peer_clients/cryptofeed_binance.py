"""cryptofeed's binance feed against the sandbox, landing every ticker into SQLite: the peer in
bench/peer.py. Runs in the bench-only peer environment (``.venv-peer``), not the project's.

    python cryptofeed_binance.py SANDBOX_URL DB_PATH BTC-USDT,ETH-USDT,... [--no-op]

Two adaptations, both outside cryptofeed's hot path: the endpoints point at the sandbox (plain
``ws://``, through the hook cryptofeed calls just before connecting), and
the feed subscribes to the full 24 h ticker stream (``<symbol>@ticker``, the frames this
collector lands) with binance's SUBSCRIBE message on ``/ws`` instead of a combined-stream URL
(the sandbox serves the former). Frames are decoded and turned into cryptofeed ``Ticker``
objects by cryptofeed's own code (yapic JSON with Decimal prices, ``Binance._ticker``).

The callback lands each ticker losslessly: exchange, symbol, bid, ask, exchange and receipt time
(no raw JSON: cryptofeed hands the callback a parsed ``Ticker``, not the frame), in 500-row
batches (or every 0.5 s) committed to SQLite in WAL mode. cryptofeed runs on uvloop, its
default. SIGTERM
commits what waits and exits. With ``--no-op`` the callback only counts tickers (the count is
written to the same file every 0.5 s): cryptofeed's own cost, without any landing.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from decimal import Decimal
from typing import Any, ClassVar

from cryptofeed import FeedHandler
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
from cryptofeed.defines import TICKER
from cryptofeed.exchanges import Binance
from yapic import json

BATCH_ROWS = 500
FLUSH_INTERVAL_S = 0.5


def sandbox_binance(sandbox_url: str) -> type[Binance]:
    host = sandbox_url.split("://", 1)[1].rstrip("/")

    class SandboxBinance(Binance):  # type: ignore[misc]
        # cryptofeed accepts only wss:// addresses; the pre-connect hook of an endpoint marked
        # authenticated turns it into the sandbox's plain ws:// one
        websocket_endpoints: ClassVar[list[Any]] = [
            WebsocketEndpoint(f"wss://{host}/stream.binance.com", authentication=True)
        ]
        rest_endpoints: ClassVar[list[Any]] = [
            RestEndpoint(f"http://{host}/api.binance.com", routes=Routes("/api/v3/exchangeInfo"))
        ]
        websocket_channels: ClassVar[dict[str, str]] = {
            **Binance.websocket_channels,
            TICKER: "ticker",
        }

        def _address(self) -> str:
            return str(self.address) + "/ws"

        async def _ws_authentication(
            self, address: str, options: dict[str, Any]
        ) -> tuple[str, dict[str, Any]]:
            return "ws://" + address.removeprefix("wss://"), options

        async def subscribe(self, conn: Any) -> None:
            self._reset()
            streams = [
                f"{pair.lower()}@{channel}"
                for channel, pairs in self.subscription.items()
                for pair in pairs
            ]
            await conn.write(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))

        async def message_handler(self, msg: str, conn: Any, timestamp: float) -> None:
            decoded = json.loads(msg, parse_float=Decimal)
            if decoded.get("e") == "24hrTicker":
                await self._ticker(decoded, timestamp)

    return SandboxBinance


class CountOnly:
    """The no-op callback: counts tickers, and records the count every 0.5 s."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS progress (tickers INTEGER)")
        self.db.execute("INSERT INTO progress VALUES (0)")
        self.tickers = 0

    async def __call__(self, ticker: Any, receipt_timestamp: float) -> None:
        self.tickers += 1

    def flush(self) -> None:
        self.db.execute("UPDATE progress SET tickers = ?", (self.tickers,))

    async def flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.flush()


class SqliteLanding:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS ticks (exchange TEXT, symbol TEXT, bid REAL, ask REAL, "
            "exchange_ts REAL, receipt_ts REAL)"
        )
        self.pending: list[tuple[Any, ...]] = []
        self.flushed_at = time.monotonic()

    async def __call__(self, ticker: Any, receipt_timestamp: float) -> None:
        self.pending.append(
            (
                ticker.exchange,
                ticker.symbol,
                float(ticker.bid),
                float(ticker.ask),
                ticker.timestamp,
                receipt_timestamp,
            )
        )
        if len(self.pending) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO ticks VALUES (?, ?, ?, ?, ?, ?)", self.pending)
            self.db.execute("COMMIT")
            self.pending = []
        self.flushed_at = time.monotonic()

    async def flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            if time.monotonic() - self.flushed_at >= FLUSH_INTERVAL_S:
                self.flush()


def main(argv: list[str]) -> int:
    sandbox_url, db_path, symbols = argv[0], argv[1], argv[2].split(",")
    landing = CountOnly(db_path) if "--no-op" in argv[3:] else SqliteLanding(db_path)
    # cryptofeed's defaults: FeedHandler installs uvloop's policy, so the loop made after it is
    # uvloop's (uvloop >= 0.21 has no implicit loop, which FeedHandler.run() expects: set one)
    handler = FeedHandler(config={"uvloop": True, "log": {"disabled": True}})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    feed_class = sandbox_binance(sandbox_url)
    handler.add_feed(feed_class(symbols=symbols, channels=[TICKER], callbacks={TICKER: landing}))
    handler.run(start_loop=False, install_signal_handlers=False)
    flusher = loop.create_task(landing.flush_periodically())

    def stop() -> None:
        flusher.cancel()
        landing.flush()
        loop.stop()

    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    print("ready", flush=True)
    loop.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
