"""``python -m extract sandbox``: serve the fake exchanges until SIGTERM/SIGINT.

Prints ``sandbox listening on http://HOST:PORT`` (one line, flushed) once it accepts connections,
so scripts and tests can start it with ``--port 0`` and read the port.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
from dataclasses import replace

from aiohttp import web

from extract.sandbox.config import DEFAULT_HISTORY_HOURS, DEFAULT_PORT, SandboxConfig
from extract.sandbox.faults import FAULT_KINDS, SPEC_KEYS, FaultError, parse_cli, validate
from extract.sandbox.market import DEFAULT_COINS, REFERENCE_PRICES
from extract.sandbox.server import Listener, Sandbox
from extract.sandbox.venues import VENUES

log = logging.getLogger("extract.sandbox")


class UsageError(ValueError):
    """Bad command-line input; the message is the one-line error."""


def _csv(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def build_parser() -> argparse.ArgumentParser:
    kinds = "\n".join(f"  {kind:<20}{text}" for kind, (text, _, _) in FAULT_KINDS.items())
    parser = argparse.ArgumentParser(
        prog="python -m extract sandbox",
        description="Serve fake binance, kraken, coinbase and okx (REST + websockets) on one port.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            f"faults (--fault KIND:key=value,... with keys {', '.join(SPEC_KEYS)}):\n{kinds}\n"
            "e.g. --fault drop:exchange=binance,mode=abort,after_s=5 (see docs/sandbox.md)"
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--exchanges", default=",".join(VENUES), help="comma-separated ccxt ids")
    parser.add_argument(
        "--coins", default=",".join(DEFAULT_COINS), help="comma-separated base coins"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the price paths")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiply update rates")
    parser.add_argument("--latency-scale", type=float, default=1.0, help="multiply latencies")
    parser.add_argument(
        "--history-hours", type=float, default=DEFAULT_HISTORY_HOURS, help="OHLCV history to serve"
    )
    parser.add_argument(
        "--max-queued-frames",
        type=int,
        default=SandboxConfig.max_queued_frames,
        help="frames queued for one client before it is closed as a slow consumer",
    )
    parser.add_argument(
        "--fault", action="append", default=[], help="a fault to inject (repeatable)"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    exchanges = _csv(args.exchanges)
    unknown = [name for name in exchanges if name not in VENUES]
    if unknown or not exchanges:
        raise UsageError(
            f"unknown exchange(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(VENUES)}"
        )
    coins = tuple(coin.upper() for coin in _csv(args.coins))
    unknown = [coin for coin in coins if coin not in REFERENCE_PRICES]
    if unknown or not coins:
        raise UsageError(
            f"unknown coin(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(REFERENCE_PRICES)}"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is out of range; use 0-65535 (0 picks a free port)")
    if not 0.01 <= args.rate_scale <= 1000:
        raise UsageError(f"--rate-scale {args.rate_scale} is out of range; use 0.01-1000")
    if not 0 <= args.latency_scale <= 100:
        raise UsageError(f"--latency-scale {args.latency_scale} is out of range; use 0-100")
    if not 100 <= args.max_queued_frames <= 10_000_000:
        raise UsageError(
            f"--max-queued-frames {args.max_queued_frames} is out of range; use 100-10000000"
        )
    if not 1 <= args.history_hours <= 24 * 30:
        raise UsageError(f"--history-hours {args.history_hours} is out of range; use 1-720")
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        exchanges=exchanges,
        coins=coins,
        seed=args.seed,
        rate_scale=args.rate_scale,
        latency_scale=args.latency_scale,
        history_hours=args.history_hours,
        max_queued_frames=args.max_queued_frames,
    )
    symbols = {ex: {item.symbol for item in VENUES[ex]().listings(coins)} for ex in exchanges}
    try:
        faults = tuple(validate(parse_cli(text), exchanges, symbols) for text in args.fault)
    except FaultError as error:
        raise UsageError(str(error)) from error
    return replace(config, faults=faults)


async def serve(config: SandboxConfig) -> None:
    sandbox = Sandbox(config)
    runner = web.AppRunner(sandbox.build_app(), handle_signals=False, access_log=None)
    await runner.setup()
    listener = Listener(runner, config.host, config.port)
    try:
        await listener.start()
    except OSError as error:
        await runner.cleanup()
        if error.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {config.port} is in use on {config.host}; "
                "choose another with --port (0 picks a free one)"
            ) from error
        raise UsageError(
            f"cannot listen on {config.host}:{config.port}: {error.strerror}"
        ) from error
    sandbox.listener = listener
    print(f"sandbox listening on http://{listener.host}:{listener.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    state = sandbox.state()
    totals = {ex: info["sent_total"] for ex, info in state["exchanges"].items()}
    log.info("event=sandbox_stopping sent_total=%s", totals)
    await runner.cleanup()


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        config = config_from_args(args)
        asyncio.run(serve(config))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
