"""The fast path lands exactly what ccxt's parser lands.

The same frames go through two capturing ccxt.pro instances of one exchange: one whose spec has
no fast path (every frame through ccxt's ``parse_ws_ticker`` / ``safe_ticker``) and one with the
shipped spec (after ccxt mapped a market on the connection, its frames skip ccxt). The landed
ticks must be identical in symbol, prices, sizes, exchange time and its provenance, raw JSON and
duplicate counts; only the reception stamps and connection ids differ.

Frames come from two places: recorded from the sandbox during a burst (the wire format ccxt
receives), and hand-written frames in the same format for the cases a healthy feed rarely sends
(zero or missing bids, numbers instead of text, a zero last price ccxt derives from the change,
unknown markets, non-ticker and undecodable frames).
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from random import Random
from typing import Any

import orjson
import pytest
from aiohttp import WSMessage, WSMsgType

from collector.harness import report
from extract.collector.capture import ExchangeCapture, install_capture
from extract.collector.exchange_time import exchange_time_ms
from extract.collector.records import ConnectionEvent, Tick
from extract.exchanges import EXCHANGES, ExchangeSpec
from extract.exchanges.client import build_exchange
from extract.exchanges.spec import FastTickerPath, TickerValues
from extract.sandbox.recording import record_ticker_frames

FAST_EXCHANGES = sorted(exchange_id for exchange_id, spec in EXCHANGES.items() if spec.fast_path)
SANDBOX_SYMBOLS = {
    "binance": ("BTC/USDT", "ETH/USDT", "SOL/USDT"),
    "coinbase": ("BTC/USD", "ETH/USD"),
    "kraken": ("BTC/USD", "ETH/USD"),
    "okx": ("BTC/USDT", "ETH/USDT"),
}
RECORDED_FRAMES = 600
# what may differ between the two landings of one frame: when and on which connection it arrived
_STAMPS = {"ingestion_ts_utc", "ingestion_ts_us", "connection_id"}


class _ListSink:
    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.events: list[ConnectionEvent] = []

    def tick(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def event(self, event: ConnectionEvent) -> None:
        self.events.append(event)


def _sink(capture: ExchangeCapture) -> _ListSink:
    assert isinstance(capture.sink, _ListSink)
    return capture.sink


def _comparable(tick: Tick) -> dict[str, Any]:
    """The tick's landed meaning; NaN as text so that two NaNs compare equal."""
    return {
        name: "nan" if isinstance(value, float) and math.isnan(value) else value
        for name, value in tick._asdict().items()
        if name not in _STAMPS
    }


async def _land(
    url: str, exchange_id: str, spec: ExchangeSpec, client_url: str, frames: list[str]
) -> ExchangeCapture:
    """Replay ``frames`` into a capturing instance with ``spec``, as its receive loop would."""
    exchange = build_exchange(exchange_id, sandbox_url=url)
    try:
        await asyncio.wait_for(exchange.load_markets(), timeout=30)
        capture = ExchangeCapture(exchange_id, spec, _ListSink())
        install_capture(exchange, capture)
        client = exchange.client(client_url)
        for frame in frames:
            client.handle_message(WSMessage(WSMsgType.TEXT, frame, None))
        return capture
    finally:
        await exchange.close()


def _land_both(
    url: str, exchange_id: str, client_url: str, frames: list[str], spec: ExchangeSpec | None = None
) -> tuple[ExchangeCapture, ExchangeCapture]:
    shipped = spec or EXCHANGES[exchange_id]

    async def both() -> tuple[ExchangeCapture, ExchangeCapture]:
        without_fast_path = replace(shipped, fast_path=None)
        ccxt_only = await _land(url, exchange_id, without_fast_path, client_url, frames)
        fast = await _land(url, exchange_id, shipped, client_url, frames)
        return ccxt_only, fast

    return asyncio.run(both())


def _assert_same_landing(ccxt_only: ExchangeCapture, fast: ExchangeCapture) -> None:
    reference = _sink(ccxt_only).ticks
    landed = _sink(fast).ticks
    assert len(landed) == len(reference)
    for index, (mine, theirs) in enumerate(zip(landed, reference, strict=True)):
        assert _comparable(mine) == _comparable(theirs), f"tick {index} differs"
    for counter in ("ticks", "duplicates", "out_of_order", "malformed"):
        assert getattr(fast.stats, counter) == getattr(ccxt_only.stats, counter), counter


def test_every_shipped_exchange_with_a_fast_path_is_covered_here() -> None:
    assert "binance" in FAST_EXCHANGES
    assert set(FAST_EXCHANGES) <= set(SANDBOX_SYMBOLS) | set(EDGE_FRAMES)
    assert set(FAST_EXCHANGES) == set(EDGE_FRAMES)


@pytest.mark.parametrize("exchange_id", FAST_EXCHANGES)
def test_recorded_sandbox_frames_land_the_same_through_both_paths(
    sandbox_url: str, exchange_id: str
) -> None:
    symbols = SANDBOX_SYMBOLS[exchange_id]
    client_url, frames = asyncio.run(
        record_ticker_frames(sandbox_url, exchange_id, symbols, RECORDED_FRAMES)
    )
    assert len(frames) == RECORDED_FRAMES
    ccxt_only, fast = _land_both(sandbox_url, exchange_id, client_url, frames)
    report(
        "the fast path lands what ccxt's parser lands",
        f"{len(frames)} recorded {exchange_id} frames over {len(symbols)} symbols, replayed twice",
        "identical ticks; all but each market's first frame on the fast path",
        f"ticks={len(_sink(fast).ticks)} fast_path_ticks={fast.stats.fast_path_ticks}",
    )
    _assert_same_landing(ccxt_only, fast)
    assert ccxt_only.stats.fast_path_ticks == 0
    # the frames before each market's first ccxt parse (subscription acks, the first ticker of
    # each symbol) go through ccxt; every later ticker frame takes the fast path
    assert fast.stats.fast_path_ticks >= fast.stats.ticks - len(symbols)


def _binance(market_id: str, **fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "e": "24hrTicker",
        "E": 1_767_225_600_250,
        "s": market_id,
        "p": "1250.50000000",
        "P": "1.990",
        "w": "63500.12000000",
        "x": "62800.00000000",
        "c": "64050.50000000",
        "Q": "0.00150000",
        "b": "64050.40000000",
        "B": "1.25000000",
        "a": "64050.60000000",
        "A": "0.75000000",
        "o": "62800.00000000",
        "h": "64500.00000000",
        "l": "62100.00000000",
        "v": "18234.55000000",
        "q": "1157894736.84210000",
        "O": 1_767_139_200_249,
        "C": 1_767_225_600_249,
        "F": 1,
        "L": 900,
        "n": 900,
    }
    return _edited(frame, fields)


_DROP = object()


def _edited(ticker: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``ticker`` with ``fields`` set, and those set to ``_DROP`` left out."""
    return {key: value for key, value in {**ticker, **fields}.items() if value is not _DROP}


def _okx(market_id: str, **fields: Any) -> dict[str, Any]:
    ticker: dict[str, Any] = {
        "instType": "SPOT",
        "instId": market_id,
        "last": "64050.5",
        "lastSz": "0.0015",
        "askPx": "64050.6",
        "askSz": "0.75",
        "bidPx": "64050.4",
        "bidSz": "1.25",
        "open24h": "62800",
        "high24h": "64500",
        "low24h": "62100",
        "sodUtc0": "63000",
        "sodUtc8": "63100",
        "volCcy24h": "1157894736.8421",
        "vol24h": "18234.55",
        "ts": "1767225600250",
    }
    return {"arg": {"channel": "tickers", "instId": market_id}, "data": [_edited(ticker, fields)]}


def _kraken(symbol: str, **fields: Any) -> dict[str, Any]:
    ticker: dict[str, Any] = {
        "symbol": symbol,
        "bid": 64050.4,
        "bid_qty": 1.25,
        "ask": 64050.6,
        "ask_qty": 0.75,
        "last": 64050.5,
        "volume": 2158.32346723,
        "vwap": 63894.5,
        "low": 62100.0,
        "high": 64500.0,
        "change": 1250.5,
        "change_pct": 1.99,
        "trades": 900,
        "timestamp": "2026-01-01T00:00:00.250000Z",
    }
    return {"channel": "ticker", "type": "update", "data": [_edited(ticker, fields)]}


def _coinbase_ticker(product_id: str, **fields: Any) -> dict[str, Any]:
    ticker: dict[str, Any] = {
        "type": "ticker",
        "product_id": product_id,
        "price": "64050.50",
        "volume_24_h": "18234.55000000",
        "low_24_h": "62100.00",
        "high_24_h": "64500.00",
        "low_52_w": "37260.00",
        "high_52_w": "90300.00",
        "price_percent_chg_24_h": "1.99124203821656",
        "best_bid": "64050.40",
        "best_ask": "64050.60",
        "best_bid_quantity": "1.25000000",
        "best_ask_quantity": "0.75000000",
    }
    return _edited(ticker, fields)


def _coinbase(*tickers: dict[str, Any], stamp: str = "2026-01-01T00:00:00.250000001Z") -> str:
    return json.dumps(
        {
            "channel": "ticker",
            "client_id": "",
            "timestamp": stamp,
            "sequence_num": 7,
            "events": [{"type": "update", "tickers": list(tickers)}],
        }
    )


# Hand-written frames in each exchange's wire format; each list starts with a healthy frame per
# market so ccxt maps it and the later edge cases reach the fast path.
EDGE_FRAMES: dict[str, list[str]] = {
    "binance": [
        json.dumps(_binance("BTCUSDT")),
        json.dumps(_binance("ETHUSDT", c="3150.25", o="3100.00", h="3200", l="3050", E=1)),
        json.dumps(_binance("BTCUSDT", b="0.00000000", E=1_767_225_600_300)),
        json.dumps(_binance("BTCUSDT", b=_DROP, a=_DROP, E=1_767_225_600_350)),
        json.dumps(_binance("BTCUSDT", c=64051.5, v=0, q=0.0, E=1_767_225_600_400)),
        json.dumps(_binance("BTCUSDT", c="6.405e4", h="1e-8", E=1_767_225_600_450)),
        json.dumps(_binance("BTCUSDT", h="nan", l="-5", E=1_767_225_600_500)),
        json.dumps(_binance("BTCUSDT", c="0", E=1_767_225_600_550)),
        json.dumps(_binance("BTCUSDT", o=_DROP, E=1_767_225_600_600)),
        json.dumps(_binance("BTCUSDT", E=_DROP)),
        json.dumps(_binance("BTCUSDT", E=1_767_225_600_100)),
        json.dumps(_binance("BTCUSDT", E=1_767_225_600_100)),
        json.dumps(_binance("DOESNOTEXIST", E=1_767_225_600_700)),
        json.dumps(_binance("ETHUSDT", b=True, a=[1], E=2)),
        json.dumps({"result": None, "id": 7}),
        '{"e":"24hrTicker","E":1767225600800,"s":"BTCUSDT","c":',
        json.dumps(_binance("BTCUSDT", status="400", E=1_767_225_600_850)),
        json.dumps(_binance("BTCUSDT", E=1_767_225_600_900)),
    ],
    "coinbase": [
        _coinbase(_coinbase_ticker("BTC-USD")),
        _coinbase(_coinbase_ticker("ETH-USD", price="3150.25", price_percent_chg_24_h="-1.6")),
        _coinbase(_coinbase_ticker("BTC-USD", best_bid="0.00"), stamp="2026-01-01T00:00:00.3Z"),
        _coinbase(_coinbase_ticker("BTC-USD", best_bid=_DROP, best_ask=64050.6)),
        _coinbase(_coinbase_ticker("BTC-USD", price=64051.5, price_percent_chg_24_h=2.5e-05)),
        _coinbase(_coinbase_ticker("BTC-USD", volume_24_h="0", high_24_h="nan", low_24_h="-5")),
        _coinbase(_coinbase_ticker("BTC-USD", price_percent_chg_24_h="0")),
        _coinbase(_coinbase_ticker("BTC-USD", price_percent_chg_24_h="-100")),
        _coinbase(_coinbase_ticker("BTC-USD", price_percent_chg_24_h="")),
        _coinbase(_coinbase_ticker("BTC-USD", price="0")),
        _coinbase(_coinbase_ticker("BTC-USD"), stamp="2026-01-01T00:00:00.1Z"),
        _coinbase(_coinbase_ticker("BTC-USD"), stamp="2026-01-01T00:00:00.1Z"),
        _coinbase(_coinbase_ticker("DOES-NOTEXIST")),
        _coinbase(_coinbase_ticker("BTC-USD"), _coinbase_ticker("ETH-USD"), {"type": "ticker"}),
        json.dumps({"channel": "subscriptions", "events": [{"subscriptions": {"ticker": []}}]}),
        json.dumps({"channel": "heartbeats", "events": [{"heartbeat_counter": "3"}]}),
        _coinbase(_coinbase_ticker("BTC-USD"), stamp="2026-01-01T00:00:00.6Z").replace(
            '"channel": "ticker",', '"channel": "ticker", "type": "error", "message": "boom",'
        ),
        '{"channel":"ticker","timestamp":"2026-01-01T00:00:00Z","events":[{"tickers":[',
        _coinbase(_coinbase_ticker("BTC-USD"), stamp="2026-01-01T00:00:00.9Z"),
    ],
    "kraken": [
        json.dumps(_kraken("BTC/USD")),
        json.dumps(_kraken("ETH/USD", last=3150.25, change=-50.75, volume=1e-05, vwap=3100.1)),
        json.dumps(_kraken("BTC/USD", bid=0, timestamp="2026-01-01T00:00:00.300000Z")),
        json.dumps(_kraken("BTC/USD", bid=_DROP, ask="64050.6", timestamp=_DROP)),
        json.dumps(_kraken("BTC/USD", last="64051.50", change="0.10", vwap="63894.123456789012")),
        json.dumps(_kraken("BTC/USD", volume=0, high="nan", low=-5)),
        json.dumps(_kraken("BTC/USD", change=64050.5)),
        json.dumps(_kraken("BTC/USD", last=0)),
        json.dumps(_kraken("BTC/USD", change=_DROP)),
        json.dumps(_kraken("BTC/USD", vwap=_DROP)),
        json.dumps(_kraken("BTC/USD", vwap="1_000")),
        json.dumps(_kraken("BTC/USD", timestamp="2026-01-01T00:00:00.100000Z")),
        json.dumps(_kraken("BTC/USD", timestamp="2026-01-01T00:00:00.100000Z")),
        json.dumps(_kraken("NOT/LISTED")),
        json.dumps(
            {
                "channel": "ticker",
                "type": "update",
                "data": [_kraken("ETH/USD")["data"][0], _kraken("BTC/USD")["data"][0]],
            }
        ),
        json.dumps({"channel": "heartbeat"}),
        json.dumps({"method": "subscribe", "success": True, "result": {"symbol": "BTC/USD"}}),
        json.dumps({**_kraken("BTC/USD"), "error": "Rate limit exceeded", "req_id": 9}),
        '{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","last":',
        json.dumps(_kraken("BTC/USD", timestamp="2026-01-01T00:00:00.900000Z")),
    ],
    "okx": [
        json.dumps(_okx("BTC-USDT")),
        json.dumps(_okx("ETH-USDT", last="3150.25", open24h="3100", ts="1767225600260")),
        json.dumps(_okx("BTC-USDT", bidPx="0", ts="1767225600300")),
        json.dumps(_okx("BTC-USDT", bidPx=_DROP, askPx="", ts="1767225600350")),
        json.dumps(_okx("BTC-USDT", last=64051.5, vol24h=0, ts=1_767_225_600_400)),
        json.dumps(_okx("BTC-USDT", last="0", high24h="nan", ts="1767225600450")),
        json.dumps(_okx("BTC-USDT", open24h=_DROP, low24h="-5", ts="1767225600500")),
        json.dumps(_okx("BTC-USDT", ts=_DROP)),
        json.dumps(_okx("BTC-USDT", ts="1767225600100")),
        json.dumps(_okx("BTC-USDT", ts="1767225600100")),
        json.dumps(_okx("DOES-NOTEXIST", ts="1767225600700")),
        json.dumps(
            {
                "arg": {"channel": "tickers", "instId": "BTC-USDT"},
                "data": [_okx("BTC-USDT")["data"][0], _okx("ETH-USDT")["data"][0]],
            }
        ),
        json.dumps({"event": "subscribe", "arg": {"channel": "tickers", "instId": "BTC-USDT"}}),
        '{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":',
        json.dumps({**_okx("BTC-USDT", ts="1767225600850"), "code": "60018", "msg": "no"}),
        json.dumps(_okx("BTC-USDT", ts="1767225600900")),
    ],
}


# The undecodable frame in each list; coinbase's also holds a ticker frame typed as an error,
# on which ccxt raises before reading its tickers.
EDGE_MALFORMED = {"binance": 1, "coinbase": 2, "kraken": 1, "okx": 1}


@pytest.mark.parametrize("exchange_id", FAST_EXCHANGES)
def test_edge_case_frames_land_the_same_through_both_paths(
    sandbox_url: str, exchange_id: str
) -> None:
    frames = EDGE_FRAMES[exchange_id]
    client_url = _client_url(sandbox_url, exchange_id)
    ccxt_only, fast = _land_both(sandbox_url, exchange_id, client_url, frames)
    _assert_same_landing(ccxt_only, fast)
    assert fast.stats.malformed == EDGE_MALFORMED[exchange_id]
    assert fast.stats.duplicates == 1
    # the frames a fast reading declines (no last or open price) went through ccxt; the others
    # of a mapped market did not
    assert 0 < fast.stats.fast_path_ticks < fast.stats.ticks


@pytest.mark.parametrize("exchange_id", FAST_EXCHANGES)
def test_a_frame_ccxt_does_not_decode_is_left_to_it(sandbox_url: str, exchange_id: str) -> None:
    """ccxt's client JSON-decodes only text starting with '{' or '['; anything else (here a
    leading space, which orjson would accept) reaches the exchange as text."""
    first, last = EDGE_FRAMES[exchange_id][0], EDGE_FRAMES[exchange_id][-1]
    frames = [first, " " + last, last]
    client_url = _client_url(sandbox_url, exchange_id)
    ccxt_only, fast = _land_both(sandbox_url, exchange_id, client_url, frames)
    _assert_same_landing(ccxt_only, fast)
    # the same frame without the space, its market mapped by the first, takes the fast path
    assert fast.stats.fast_path_ticks == 1


def test_frames_ccxt_does_more_with_than_read_tickers_are_left_to_it() -> None:
    kraken, coinbase = EXCHANGES["kraken"].fast_path, EXCHANGES["coinbase"].fast_path
    assert kraken is not None
    assert coinbase is not None
    healthy = _kraken("BTC/USD")
    assert kraken.raw_tickers(healthy) == healthy["data"]
    for key, value in (("error", "x"), ("errorMessage", "x"), ("method", "pong"), ("event", "")):
        assert kraken.raw_tickers({**healthy, key: value}) is None, key
    frame = json.loads(_coinbase(_coinbase_ticker("BTC-USD")))
    assert coinbase.raw_tickers(frame) == frame["events"][0]["tickers"]
    assert coinbase.raw_tickers({**frame, "type": "error"}) is None
    binance, okx = EXCHANGES["binance"].fast_path, EXCHANGES["okx"].fast_path
    assert binance is not None
    assert okx is not None
    ticker = _binance("BTCUSDT")
    assert binance.raw_tickers(ticker) == [ticker]
    for key, value in (("status", "400"), ("error", {}), ("id", 1), ("stream", "x"), ("data", {})):
        assert binance.raw_tickers({**ticker, key: value}) is None, key
    tickers = _okx("BTC-USDT")
    assert okx.raw_tickers(tickers) == tickers["data"]
    for key, value in (("code", "60018"), ("event", "error"), ("op", "x")):
        assert okx.raw_tickers({**tickers, key: value}) is None, key


def _client_url(sandbox_url: str, exchange_id: str) -> str:
    """The websocket URL ccxt would dial for the exchange's public tickers, on the sandbox."""
    client_url, _ = asyncio.run(
        record_ticker_frames(sandbox_url, exchange_id, SANDBOX_SYMBOLS[exchange_id][:1], 1)
    )
    return client_url


def test_a_fast_reading_that_disagrees_with_ccxt_is_never_used(sandbox_url: str) -> None:
    """The safety net: the capture compares the fast reading of a market's first ticker with
    ccxt's; on any difference that market stays with ccxt and a warning event says so."""
    shipped = EXCHANGES["binance"]
    assert shipped.fast_path is not None
    right = shipped.fast_path.values

    def bid_and_ask_swapped(raw: Any) -> TickerValues | None:
        values = right(raw)
        return values._replace(bid=values.ask, ask=values.bid) if values else None

    wrong = replace(
        shipped, fast_path=FastTickerPath(shipped.fast_path.raw_tickers, bid_and_ask_swapped)
    )
    frames = EDGE_FRAMES["binance"]
    client_url = _client_url(sandbox_url, "binance")
    ccxt_only, fast = _land_both(sandbox_url, "binance", client_url, frames, spec=wrong)
    _assert_same_landing(ccxt_only, fast)
    assert fast.stats.fast_path_ticks == 0
    warnings = [e for e in _sink(fast).events if e.event_type == "fast_path_disagrees"]
    # ccxt lands an unknown market under its market id; the fast path follows it there too
    assert {e.symbol for e in warnings} == {"BTC/USDT", "ETH/USDT", "DOESNOTEXIST"}


# -- binance's typed reading (msgspec, straight from the frame's text) ---------------------------


def _typed_and_dict_readings(text: str) -> tuple[Any, Any]:
    """(binance's typed reading of a frame's text, its dict reading with the exchange time)."""
    fast_path = EXCHANGES["binance"].fast_path
    assert fast_path is not None
    assert fast_path.single_ticker is not None
    typed = fast_path.single_ticker(text)
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return typed, None
    raws = fast_path.raw_tickers(frame) or []
    values = fast_path.values(raws[0]) if len(raws) == 1 else None
    if values is None:
        return typed, None
    return typed, (values, exchange_time_ms(EXCHANGES["binance"], raws[0], frame))


def _exactly(reading: Any) -> Any:
    """A reading with each float as its repr, so that NaN equals NaN and -0.0 differs from 0.0."""
    values, exchange_ts = reading
    return [repr(value) for value in values], exchange_ts


def test_binance_typed_reading_takes_every_recorded_frame_and_reads_it_as_the_dict_reading(
    sandbox_url: str,
) -> None:
    _, frames = asyncio.run(
        record_ticker_frames(sandbox_url, "binance", SANDBOX_SYMBOLS["binance"], RECORDED_FRAMES)
    )
    assert len(frames) == RECORDED_FRAMES
    for text in frames:
        typed, by_dict = _typed_and_dict_readings(text)
        assert typed is not None, text
        assert _exactly(typed) == _exactly(by_dict), text


def test_binance_typed_reading_declines_or_agrees_on_every_edge_frame() -> None:
    declined = 0
    for text in EDGE_FRAMES["binance"]:
        typed, by_dict = _typed_and_dict_readings(text)
        if typed is None:
            declined += 1
        else:
            assert _exactly(typed) == _exactly(by_dict), text
    # zero or missing fields, numbers ccxt derives, acks, an undecodable frame, a status key
    assert 0 < declined < len(EDGE_FRAMES["binance"])


_SPECIAL_NUMBERS = (
    "-0",
    "-0.000",
    "0",
    "nan",
    "inf",
    "+1",
    " 1",
    "1_0",
    "1e400",
    "-1e-400",
    "00.5",
)


def _generated_number(random: Random) -> Any:
    """A price or volume as an exchange might send it: decimal text of any length, with a sign,
    an exponent or leading zeros, a special text ``float`` may or may not take, or a JSON
    number."""
    if random.random() < 0.1:
        return random.choice(_SPECIAL_NUMBERS)
    digits = "".join(random.choice("0123456789") for _ in range(random.randint(1, 20)))
    point = random.randint(1, len(digits))
    text = random.choice(["", "-"]) + digits[:point]
    if point < len(digits):
        text += "." + digits[point:]
    if random.random() < 0.15:
        text += f"e{random.randint(-40, 40)}"
    return float(text) if random.random() < 0.1 else text


def test_binance_typed_reading_converts_numbers_exactly_as_float_does() -> None:
    """msgspec converts numeric text itself; on any text it accepts the result must be exactly
    ``float``'s (sign of zero, NaN and rounding included), or the reading declines."""
    random = Random(20261204)
    accepted = 0
    for _ in range(3_000):
        fields = {
            key: _generated_number(random) for key in ("c", "b", "a", "o", "h", "l", "v", "q")
        }
        text = json.dumps(_binance("BTCUSDT", **fields))
        typed, by_dict = _typed_and_dict_readings(text)
        if typed is not None:
            accepted += 1
            assert by_dict is not None, text
            assert _exactly(typed) == _exactly(by_dict), text
    assert accepted > 300


def test_a_typed_reading_that_disagrees_with_ccxt_is_never_used(sandbox_url: str) -> None:
    """The safety net covers the typed reading too: when it differs from ccxt on a market's first
    ticker, that market stays with ccxt on the connection."""
    shipped = EXCHANGES["binance"]
    assert shipped.fast_path is not None
    assert shipped.fast_path.single_ticker is not None
    right = shipped.fast_path.single_ticker

    def an_hour_late(text: str) -> Any:
        reading = right(text)
        return None if reading is None else (reading[0], reading[1] + 3_600_000)

    wrong = replace(shipped, fast_path=replace(shipped.fast_path, single_ticker=an_hour_late))
    client_url = _client_url(sandbox_url, "binance")
    ccxt_only, fast = _land_both(sandbox_url, "binance", client_url, EDGE_FRAMES["binance"], wrong)
    _assert_same_landing(ccxt_only, fast)
    assert fast.stats.fast_path_ticks == 0
    warnings = [e for e in _sink(fast).events if e.event_type == "fast_path_disagrees"]
    assert {e.symbol for e in warnings} >= {"BTC/USDT", "ETH/USDT"}


def test_a_frame_the_typed_reading_fails_on_is_left_to_ccxt(sandbox_url: str) -> None:
    """msgspec raises (rather than declining) on text holding a lone surrogate. Such a frame must
    reach ccxt and be counted as ccxt's route counts it (malformed: ccxt cannot take it either),
    not stop the capture."""
    healthy = json.dumps(_binance("BTCUSDT"))
    with_surrogate = json.dumps({**_binance("BTCUSDT"), "x": "\ud800"}, ensure_ascii=False)
    client_url = _client_url(sandbox_url, "binance")
    ccxt_only, fast = _land_both(sandbox_url, "binance", client_url, [healthy, with_surrogate])
    _assert_same_landing(ccxt_only, fast)
    assert (fast.stats.ticks, fast.stats.malformed, fast.stats.fast_path_ticks) == (1, 1, 0)
