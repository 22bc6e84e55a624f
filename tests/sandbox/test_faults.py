"""Each sandbox fault, seen from a real ccxt.pro client: the error ccxt raises, then recovery."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import ccxt
import pytest

from extract.exchanges.client import build_exchange
from extract.sandbox.process import SandboxProcess

pytestmark = [pytest.mark.slow, pytest.mark.faults]

TIMEOUT_S = 8.0
# how many watch calls a test may make while waiting for a fault to show (bounded loops)
MAX_WATCHES = 60


@pytest.fixture(scope="module")
def fault_sandbox() -> Iterator[str]:
    """A private sandbox for this module; faults and counters are reset before each test."""
    sandbox = SandboxProcess("--rate-scale", "4")
    try:
        yield sandbox.url
    finally:
        sandbox.stop()


@pytest.fixture
def url(fault_sandbox: str) -> str:
    asyncio.run(control(fault_sandbox, "/_control/reset", {}))
    return fault_sandbox


async def control(base: str, path: str, payload: object | None = None) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        if payload is None:
            async with session.get(base + path) as response:
                return await response.json()
        async with session.post(base + path, json=payload) as response:
            body = await response.json()
            assert response.status == 200, body
            return body


def with_exchange(
    exchange_id: str,
    url: str,
    scenario: Callable[[Any], Awaitable[Any]],
    config: dict[str, Any] | None = None,
) -> Any:
    async def main() -> Any:
        exchange = build_exchange(exchange_id, sandbox_url=url, config=config)
        try:
            return await asyncio.wait_for(scenario(exchange), 4 * TIMEOUT_S)
        finally:
            await exchange.close()

    return asyncio.run(main())


def record_frames(exchange: Any) -> list[Any]:
    """Every decoded frame the exchange handles, in arrival order (ccxt coalesces tickers)."""
    frames: list[Any] = []
    original = exchange.handle_message

    def recorder(client: Any, message: Any) -> Any:
        frames.append(message)
        return original(client, message)

    exchange.handle_message = recorder
    return frames


def record_closes(exchange: Any) -> list[Any]:
    """The close codes ccxt's close callback sees (it fires whether or not a watch is pending)."""
    codes: list[Any] = []
    original = exchange.on_close

    def recorder(client: Any, code: Any) -> Any:
        codes.append(code)
        return original(client, code)

    exchange.on_close = recorder
    return codes


async def watch_until_error(exchange: Any, symbol: str) -> BaseException:
    """Keep watching until the fault surfaces as an exception (bounded)."""
    for _ in range(MAX_WATCHES):
        try:
            await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
        except (ccxt.BaseError, TimeoutError) as error:
            return error
    raise AssertionError(f"no error after {MAX_WATCHES} tickers")


async def until_back(call: Callable[[], Awaitable[Any]], failure: str) -> Any:
    """Call again every 0.25 s until it no longer raises a NetworkError; bounded: a fault that
    lasts ~1.5 s is over within the 20 tries."""
    for _ in range(20):
        await asyncio.sleep(0.25)
        try:
            return await asyncio.wait_for(call(), TIMEOUT_S)
        except ccxt.NetworkError:
            continue
    raise AssertionError(failure)


async def watch_until_closed(exchange: Any, symbol: str, closes: list[Any]) -> str:
    """Watch until the connection closes: the raised error's text, or "" when ccxt had no watch
    pending at that moment (then the next watch redials silently)."""
    for _ in range(MAX_WATCHES):
        try:
            await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
        except ccxt.NetworkError as error:
            return str(error)
        if closes:
            return ""
    raise AssertionError(f"no close after {MAX_WATCHES} tickers")


@pytest.mark.parametrize(("exchange_id", "symbol"), [("okx", "BTC/USDT"), ("kraken", "ETH/USD")])
def test_drop_with_close_frame_reaches_ccxt_with_its_code_then_reconnects(
    url: str, exchange_id: str, symbol: str
) -> None:
    async def scenario(exchange: Any) -> tuple[list[Any], str, dict[str, Any], Any]:
        closes = record_closes(exchange)
        await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
        fault = {"kind": "drop", "exchange": exchange_id, "code": 4000}
        await control(url, "/_control/faults", fault)
        error = await watch_until_closed(exchange, symbol, closes)
        ticker = await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
        return closes, error, ticker, await control(url, "/_control/state")

    closes, error, ticker, state = with_exchange(exchange_id, url, scenario)
    assert 4000 in closes
    assert error in ("", "Connection closed by remote server, closing code 4000")
    assert ticker["last"] > 0
    # It dialled again. ccxt promises a new connection for the next watch, not exactly one: in a
    # fresh-clone CI run okx's client dialled twice after the drop (3 connections in all).
    assert state["exchanges"][exchange_id]["counters"]["ws_connections"] >= 2


def test_tcp_abort_reaches_ccxt_as_abnormal_closure_then_reconnects(url: str) -> None:
    async def scenario(exchange: Any) -> tuple[list[Any], dict[str, Any], Any]:
        closes = record_closes(exchange)
        await asyncio.wait_for(exchange.watch_ticker("BTC/USDT"), TIMEOUT_S)
        fault = {"kind": "drop", "exchange": "binance", "mode": "abort"}
        await control(url, "/_control/faults", fault)
        await watch_until_closed(exchange, "BTC/USDT", closes)
        ticker = await asyncio.wait_for(exchange.watch_ticker("BTC/USDT"), TIMEOUT_S)
        return closes, ticker, await control(url, "/_control/state")

    closes, ticker, state = with_exchange("binance", url, scenario)
    assert closes
    assert 1000 not in closes  # no orderly close frame: an abnormal closure
    assert ticker["last"] > 0
    # it dialled again (see the close-frame test above)
    assert state["exchanges"]["binance"]["counters"]["ws_connections"] >= 2


@pytest.mark.parametrize(("exchange_id", "symbol"), [("binance", "BTC/USDT"), ("okx", "ETH/USDT")])
def test_half_open_socket_is_detected_by_the_keepalive_then_reconnects(
    url: str, exchange_id: str, symbol: str
) -> None:
    async def scenario(exchange: Any) -> tuple[BaseException, dict[str, Any], dict[str, Any]]:
        await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
        fault = {"kind": "half_open", "exchange": exchange_id, "duration_s": 20}
        await control(url, "/_control/faults", fault)
        error = await watch_until_error(exchange, symbol)
        ticker = await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
        return error, ticker, await control(url, "/_control/state")

    keepalive = {"streaming": {"keepAlive": 400}}
    error, ticker, state = with_exchange(exchange_id, url, scenario, keepalive)
    assert isinstance(error, ccxt.RequestTimeout)
    assert "keepalive" in str(error)
    assert ticker["last"] > 0
    assert state["exchanges"][exchange_id]["counters"]["fault_half_open"] == 1


def test_stalled_channel_stops_one_symbol_while_others_flow(url: str) -> None:
    async def scenario(exchange: Any) -> tuple[bool, int, dict[str, Any]]:
        await asyncio.wait_for(exchange.watch_tickers(["BTC/USDT", "ETH/USDT"]), TIMEOUT_S)
        fault = {"kind": "stall", "exchange": "okx", "symbol": "BTC/USDT", "duration_s": 2}
        await control(url, "/_control/faults", fault)
        await asyncio.sleep(0.2)  # let in-flight BTC updates land
        stalled = False
        try:
            await asyncio.wait_for(exchange.watch_ticker("BTC/USDT"), 1.0)
        except TimeoutError:
            stalled = True
        others = 0
        for _ in range(3):
            ticker = await asyncio.wait_for(exchange.watch_ticker("ETH/USDT"), TIMEOUT_S)
            others += ticker["symbol"] == "ETH/USDT"
        await asyncio.sleep(1.0)  # the stall ends
        return stalled, others, await asyncio.wait_for(exchange.watch_ticker("BTC/USDT"), TIMEOUT_S)

    stalled, others, resumed = with_exchange("okx", url, scenario)
    assert stalled
    assert others == 3
    assert resumed["symbol"] == "BTC/USDT"


def test_duplicate_frames_arrive_twice(url: str) -> None:
    async def scenario(exchange: Any) -> list[Any]:
        frames = record_frames(exchange)
        await asyncio.wait_for(exchange.watch_ticker("SOL/USDT"), TIMEOUT_S)
        fault = {"kind": "duplicate", "exchange": "okx", "symbol": "SOL/USDT", "count": 3}
        await control(url, "/_control/faults", fault)
        for _ in range(8):
            await asyncio.wait_for(exchange.watch_ticker("SOL/USDT"), TIMEOUT_S)
        return [frame for frame in frames if isinstance(frame, dict) and "data" in frame]

    tickers = with_exchange("okx", url, scenario)
    pairs = [(a, b) for a, b in itertools.pairwise(tickers) if a == b]
    assert len(pairs) == 3


def test_out_of_order_frames_go_back_in_exchange_time(url: str) -> None:
    async def scenario(exchange: Any) -> list[int]:
        frames = record_frames(exchange)
        await asyncio.wait_for(exchange.watch_ticker("BTC/USDT"), TIMEOUT_S)
        fault = {"kind": "out_of_order", "exchange": "okx", "symbol": "BTC/USDT", "count": 2}
        await control(url, "/_control/faults", fault)
        for _ in range(10):
            await asyncio.wait_for(exchange.watch_ticker("BTC/USDT"), TIMEOUT_S)
        return [int(f["data"][0]["ts"]) for f in frames if isinstance(f, dict) and "data" in f]

    times = with_exchange("okx", url, scenario)
    backwards = [(a, b) for a, b in itertools.pairwise(times) if b < a]
    assert len(backwards) == 2


def test_outlier_prints_are_far_from_the_market(url: str) -> None:
    async def scenario(exchange: Any) -> list[float]:
        frames = record_frames(exchange)
        await asyncio.wait_for(exchange.watch_ticker("ETH/USD"), TIMEOUT_S)
        fault = {"kind": "outlier", "exchange": "coinbase", "symbol": "ETH/USD", "count": 1}
        await control(url, "/_control/faults", fault)
        for _ in range(6):
            await asyncio.wait_for(exchange.watch_ticker("ETH/USD"), TIMEOUT_S)
        return [
            float(ticker["price"])
            for frame in frames
            if isinstance(frame, dict) and frame.get("channel") == "ticker"
            for event in frame["events"]
            for ticker in event["tickers"]
        ]

    prices = with_exchange("coinbase", url, scenario)
    median = statistics.median(prices)
    outliers = [price for price in prices if price > 5 * median]
    assert len(outliers) == 1


@pytest.mark.parametrize(
    ("exchange_id", "symbol", "expected"),
    [
        ("binance", "ETH/USDT", ccxt.ExchangeError),
        ("okx", "ETH/USDT", ccxt.BadRequest),
        # kraken v2 rejects by req_id, which ccxt's ticker watch does not wait on: it hangs
        ("kraken", "ETH/USD", TimeoutError),
    ],
)
def test_rejected_subscription_surfaces_then_a_new_subscription_works(
    url: str, exchange_id: str, symbol: str, expected: type[BaseException]
) -> None:
    async def scenario(exchange: Any) -> tuple[BaseException | None, dict[str, Any]]:
        await asyncio.wait_for(exchange.load_markets(), TIMEOUT_S)
        fault = {"kind": "reject_subscription", "exchange": exchange_id, "count": 1}
        await control(url, "/_control/faults", fault)
        error: BaseException | None = None
        try:
            await asyncio.wait_for(exchange.watch_ticker(symbol), 2.0)
        except (ccxt.BaseError, TimeoutError) as raised:
            error = raised
        other = symbol.replace("ETH", "BTC")
        return error, await asyncio.wait_for(exchange.watch_ticker(other), TIMEOUT_S)

    error, ticker = with_exchange(exchange_id, url, scenario)
    assert isinstance(error, expected)
    assert ticker["last"] > 0


@pytest.mark.parametrize(
    ("exchange_id", "symbol"),
    [("binance", "BTC/USDT"), ("kraken", "BTC/USD"), ("coinbase", "BTC/USD"), ("okx", "BTC/USDT")],
)
def test_http_429_raises_rate_limit_then_the_next_request_succeeds(
    url: str, exchange_id: str, symbol: str
) -> None:
    async def scenario(exchange: Any) -> tuple[BaseException | None, dict[str, Any]]:
        await asyncio.wait_for(exchange.load_markets(), TIMEOUT_S)
        await control(url, "/_control/faults", {"kind": "http_429", "exchange": exchange_id})
        error: BaseException | None = None
        try:
            await asyncio.wait_for(exchange.fetch_ticker(symbol), TIMEOUT_S)
        except ccxt.BaseError as raised:
            error = raised
        return error, await asyncio.wait_for(exchange.fetch_ticker(symbol), TIMEOUT_S)

    error, ticker = with_exchange(exchange_id, url, scenario)
    # ccxt maps the exchange's 429 body to RateLimitExceeded, a bare 429 to DDoSProtection
    assert isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection)
    assert ticker["last"] > 0


def test_exchange_down_then_up(url: str) -> None:
    async def scenario(exchange: Any) -> tuple[BaseException, BaseException | None, Any]:
        await asyncio.wait_for(exchange.watch_ticker("BTC/USD"), TIMEOUT_S)
        await control(
            url, "/_control/faults", {"kind": "down", "exchange": "coinbase", "duration_s": 1.5}
        )
        ws_error = await watch_until_error(exchange, "BTC/USD")
        rest_error: BaseException | None = None
        try:
            await asyncio.wait_for(exchange.fetch_ticker("BTC/USD"), TIMEOUT_S)
        except ccxt.BaseError as raised:
            rest_error = raised
        back = await until_back(
            lambda: exchange.watch_ticker("BTC/USD"), "coinbase did not come back"
        )
        return ws_error, rest_error, back

    ws_error, rest_error, ticker = with_exchange("coinbase", url, scenario)
    assert isinstance(ws_error, ccxt.NetworkError)
    assert isinstance(rest_error, ccxt.NetworkError)  # ExchangeNotAvailable is a NetworkError
    assert ticker["last"] > 0


def test_malformed_frame_is_invalid_json_on_the_wire(url: str) -> None:
    async def main() -> list[str]:
        ws_url = url.replace("http://", "ws://") + "/ws.okx.com/ws/v5/public"
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.ws_connect(ws_url) as ws,
        ):
            await ws.send_str(
                '{"op":"subscribe","args":[{"channel":"tickers","instId":"XRP-USDT"}]}'
            )
            await control(
                url,
                "/_control/faults",
                {"kind": "malformed", "exchange": "okx", "symbol": "XRP/USDT"},
            )
            texts = []
            for _ in range(6):
                message = await asyncio.wait_for(ws.receive(), TIMEOUT_S)
                texts.append(message.data)
            return texts

    texts = asyncio.run(main())
    invalid = []
    for text in texts:
        try:
            json.loads(text)
        except json.JSONDecodeError:
            invalid.append(text)
    assert len(invalid) == 1
    assert invalid[0].startswith('{"arg":')


def test_malformed_frame_wedges_the_ccxt_client_and_a_fresh_client_recovers(url: str) -> None:
    """ccxt's receive loop dies on invalid JSON: the watch times out; only a new client works."""

    async def scenario(exchange: Any) -> tuple[bool, dict[str, Any]]:
        await asyncio.wait_for(exchange.watch_ticker("DOGE/USDT"), TIMEOUT_S)
        fault = {"kind": "malformed", "exchange": "binance", "symbol": "DOGE/USDT"}
        await control(url, "/_control/faults", fault)
        wedged = False
        for _ in range(10):
            try:
                await asyncio.wait_for(exchange.watch_ticker("DOGE/USDT"), 2.0)
            except TimeoutError:
                wedged = True
                break
        fresh = build_exchange("binance", sandbox_url=url)
        try:
            return wedged, await asyncio.wait_for(fresh.watch_ticker("DOGE/USDT"), TIMEOUT_S)
        finally:
            await fresh.close()

    wedged, ticker = with_exchange("binance", url, scenario)
    assert wedged
    assert ticker["last"] > 0


def test_burst_delivers_every_update_and_the_sent_counter_matches(url: str) -> None:
    count = 2_000

    async def scenario(exchange: Any) -> tuple[int, int]:
        frames = record_frames(exchange)
        await asyncio.wait_for(exchange.watch_ticker("XRP/USDT"), TIMEOUT_S)
        burst = {"exchange": "binance", "symbol": "XRP/USDT", "count": count}
        await control(url, "/_control/burst", burst)
        received = sent = 0
        for _ in range(200):  # bounded: until the client has every frame the sandbox wrote
            await asyncio.sleep(0.05)
            state = await control(url, "/_control/state")
            sent = state["exchanges"]["binance"]["sent"]["XRP/USDT"]
            received = sum(1 for f in frames if isinstance(f, dict) and f.get("e") == "24hrTicker")
            if received == sent and sent > count:
                break
        return received, sent

    received, sent = with_exchange("binance", url, scenario)
    assert sent > count  # the burst and the regular updates
    assert received == sent


def test_whole_server_down_refuses_connections_then_listens_again(url: str) -> None:
    async def scenario(exchange: Any) -> tuple[BaseException | None, BaseException | None, Any]:
        await asyncio.wait_for(exchange.load_markets(), TIMEOUT_S)
        await control(url, "/_control/faults", {"kind": "down", "exchange": "*", "duration_s": 1.5})
        await asyncio.sleep(0.2)
        refused: BaseException | None = None
        try:
            await asyncio.wait_for(exchange.fetch_ticker("BTC/USDT"), TIMEOUT_S)
        except ccxt.NetworkError as raised:
            refused = raised
        raw_error: BaseException | None = None
        try:  # a fresh TCP connection is refused outright, not accepted and reset
            _, writer = await asyncio.open_connection(*url.removeprefix("http://").split(":"))
            writer.close()
        except ConnectionRefusedError as raised:
            raw_error = raised
        back = await until_back(
            lambda: exchange.fetch_ticker("BTC/USDT"), "the sandbox did not listen again"
        )
        return refused, raw_error, back

    refused, raw_error, ticker = with_exchange("okx", url, scenario)
    assert isinstance(refused, ccxt.NetworkError)
    assert isinstance(raw_error, ConnectionRefusedError)
    assert ticker["last"] > 0
