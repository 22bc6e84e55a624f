"""Bad input gets a one-line error naming the problem and the valid choices; clients' garbage
never takes the sandbox down."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp
import pytest

from extract.sandbox import cli as sandbox_cli
from tests.conftest import REPO_ROOT

TIMEOUT_S = 10.0


def run_sandbox_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extract", "sandbox", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "problem", "choices"),
    [
        (["--coins", "BTC,FOO"], "unknown coin(s) FOO", "BTC, ETH, SOL, XRP, DOGE"),
        (["--exchanges", "binance,bitmex"], "unknown exchange(s) bitmex", "binance, kraken"),
        (["--fault", "explode:exchange=okx"], "unknown fault 'explode'", "drop, half_open"),
        (["--fault", "drop:exchange=bitmex"], "unknown exchange 'bitmex'", "coinbase, okx"),
        (
            ["--fault", "stall:exchange=okx,symbol=BTC/USD,duration_s=1"],
            "unknown symbol",
            "BTC/USDT",
        ),
        (["--fault", "drop:exchange=okx,mode=gently"], "unknown mode 'gently'", "close, abort"),
        (
            ["--fault", "drop:exchange=okx,colour=red"],
            "unknown fault field(s) colour",
            "duration_s",
        ),
        (["--fault", "stall:exchange=okx"], "needs duration_s", ""),
        (["--fault", "drop:exchange=okx,count=0"], "count must be >= 1", ""),
        (["--port", "70000"], "port 70000 is out of range", "0-65535"),
        (["--fault", "stall:exchange=*,duration_s=1"], "only for fault down", ""),
        (["--max-queued-frames", "5"], "--max-queued-frames 5 is out of range", "100-"),
    ],
)
def test_bad_cli_input_is_one_line_naming_problem_and_choices(
    args: list[str], problem: str, choices: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = sandbox_cli.main(["--port", "0", *args])  # rejected before anything starts
    captured = capsys.readouterr()
    assert exit_code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert problem in lines[0]
    assert choices in lines[0]


def test_port_in_use_exits_2_with_the_port_from_the_real_command() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_sandbox_cli("--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: port {port} is in use on 127.0.0.1; "
        "choose another with --port (0 picks a free one)"
    )


def test_control_api_rejects_bad_faults_with_the_valid_choices(sandbox_url: str) -> None:
    async def main() -> list[tuple[int, str]]:
        bad = [
            {"kind": "explode", "exchange": "okx"},
            {"kind": "drop", "exchange": "bitmex"},
            {"kind": "outlier", "exchange": "okx", "factor": -1},
            {"kind": "drop", "exchange": "okx", "count": "many"},
            ["not an object"],
        ]
        answers = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
            for payload in bad:
                async with session.post(f"{sandbox_url}/_control/faults", json=payload) as response:
                    answers.append((response.status, (await response.json())["error"]))
            burst = {"exchange": "okx", "symbol": "NOPE/USDT", "count": 5}
            async with session.post(f"{sandbox_url}/_control/burst", json=burst) as response:
                answers.append((response.status, (await response.json())["error"]))
            async with session.get(f"{sandbox_url}/_control/state") as response:
                assert (await response.json())["faults"] == []
        return answers

    answers = asyncio.run(main())
    assert [status for status, _ in answers] == [400] * 6
    assert "choose one of drop" in answers[0][1]
    assert "choose one of binance, kraken, coinbase, okx" in answers[1][1]
    assert "factor must be a positive number" in answers[2][1]
    assert "count must be an integer" in answers[3][1]
    assert "must be a JSON object" in answers[4][1]
    assert "unknown exchange/symbol okx/NOPE/USDT" in answers[5][1]


@pytest.mark.parametrize(
    ("path", "subscribe"),
    [
        ("/stream.binance.com/ws", '{"method":"SUBSCRIBE","params":["btcusdt@ticker"],"id":7}'),
        (
            "/ws.kraken.com/v2",
            '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"]}}',
        ),
        (
            "/advanced-trade-ws.coinbase.com",
            '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"ticker"}',
        ),
        (
            "/ws.okx.com/ws/v5/public",
            '{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}',
        ),
    ],
)
def test_garbage_from_a_client_never_kills_the_sandbox(
    sandbox_url: str, path: str, subscribe: str
) -> None:
    garbage = ["{", "[]", "null", '{"method":42,"params":{"x":[1,{}]}}', "\x00\xff", '"' * 5000]

    async def main() -> str:
        ws_url = sandbox_url.replace("http://", "ws://") + path
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.ws_connect(ws_url) as ws:
                for text in garbage:
                    await ws.send_str(text)
                await ws.send_bytes(b"\x89\x00binary")
            async with session.ws_connect(ws_url) as ws:  # a new client is served normally
                await ws.send_str(subscribe)
                for _ in range(20):  # bounded: acks and status frames come first
                    message = await asyncio.wait_for(ws.receive(), TIMEOUT_S)
                    if "BTC" in message.data and ("bid" in message.data or '"b"' in message.data):
                        return str(message.data)
        raise AssertionError("no ticker after the garbage")

    assert "BTC" in asyncio.run(main())
