"""The capture-side fault suite: each test names its fault and promise, injects the fault into a
private sandbox, and prints what was injected, expected and observed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collector.harness import InProcessCollector, control, fast_config, report, sent_count

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EXCHANGE = "binance"


def live_ticks(run: InProcessCollector) -> int:
    return run.count("SELECT count(*) FROM market_ticks WHERE source = 'ws'")


def connections_with_ticks(run: InProcessCollector) -> int:
    return run.count("SELECT count(DISTINCT connection_id) FROM market_ticks WHERE source = 'ws'")


async def reconnect_after_fault(
    url: str, tmp_path: Path, fault: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """Collect, inject ``fault`` once ticks flow, and wait until ticks flow on a new connection
    and the gap has been backfilled. Returns the events and counts the tests check."""
    config = fast_config(tmp_path, url, exchanges=(EXCHANGE,), **overrides)
    async with InProcessCollector(config, [EXCHANGE]) as run:
        await run.until(lambda: live_ticks(run) > 0, 20, "the first tick")
        await control(url, "faults", {"exchange": EXCHANGE, **fault})
        waited = await run.until(
            lambda: connections_with_ticks(run) >= 2 and bool(run.events("backfill_done")),
            30,
            "ticks on a second connection and a finished backfill",
        )
        observed = {
            name: run.events(name)
            for name in (
                "disconnect",
                "reconnect_wait",
                "reconnected",
                "stale_detected",
                "backfill_started",
                "backfill_done",
                "connected",
            )
        }
        observed["backfill_rows"] = run.count(
            "SELECT count(*) FROM market_ticks WHERE source = 'backfill'"
        )
        observed["recovered_in_s"] = waited
        observed["sent"] = await sent_count(url, EXCHANGE)
        observed["landed"] = live_ticks(run)
    return observed


def check_reconnect(observed: dict[str, Any], *, reconnect_max_s: float = 2.0) -> None:
    assert len(observed["disconnect"]) == 1, "one disconnect event per connection"
    assert observed["reconnect_wait"], "a reconnect_wait event with its delay"
    assert all(0 < wait["delay_s"] <= reconnect_max_s for wait in observed["reconnect_wait"])
    assert len(observed["reconnected"]) == 1
    assert observed["reconnected"][0]["time_to_reconnect_s"] < reconnect_max_s + 10
    assert observed["backfill_started"]
    assert observed["backfill_done"]
    assert observed["backfill_rows"] > 0, "the gap is backfilled from 1m OHLCV"


def summary(observed: dict[str, Any]) -> str:
    disconnect = observed["disconnect"][0] if observed["disconnect"] else {}
    return (
        f"disconnects={len(observed['disconnect'])} (reason={disconnect.get('reason')!r}, "
        f"code={disconnect.get('close_code')}), waits="
        f"{[w['delay_s'] for w in observed['reconnect_wait']]}, "
        f"reconnected={len(observed['reconnected'])}, stale={len(observed['stale_detected'])}, "
        f"backfill_rows={observed['backfill_rows']}, "
        f"recovered_in={observed['recovered_in_s']:.1f}s, "
        f"ticks sent={observed['sent']} landed={observed['landed']}"
    )


def test_close_frame_is_one_disconnect_then_reconnect_and_backfill(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """A close frame (code 4000) yields exactly one disconnect event with the code, although
    ccxt fires two close callbacks; the session reconnects within the backoff bounds and
    backfills the gap."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(
        reconnect_after_fault(url, tmp_path, {"kind": "drop", "mode": "close", "code": 4000})
    )
    report(
        "close frame -> one disconnect, reconnect, backfill",
        "drop mode=close code=4000",
        "1 disconnect with close_code 4000, reconnect <= 2 s backoff, backfill rows > 0",
        summary(observed),
    )
    check_reconnect(observed)
    assert observed["disconnect"][0]["close_code"] == 4000


def test_tcp_abort_is_one_disconnect_then_reconnect_and_backfill(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """A reset TCP connection (no close frame) is noticed, recorded once, reconnected and
    backfilled."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(reconnect_after_fault(url, tmp_path, {"kind": "drop", "mode": "abort"}))
    report(
        "TCP abort -> one disconnect, reconnect, backfill",
        "drop mode=abort",
        "1 disconnect, reconnect, backfill rows > 0",
        summary(observed),
    )
    check_reconnect(observed)


def test_half_open_socket_is_reconnected_within_the_stale_limit(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """A socket that stays open but goes silent is declared stale after stale_after_s (3 s),
    closed by us, reconnected and backfilled; nothing waits forever."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(
        reconnect_after_fault(url, tmp_path, {"kind": "half_open", "duration_s": 60})
    )
    report(
        "half-open socket -> stale_detected within the limit, reconnect, backfill",
        "half_open for 60 s",
        "stale_detected after ~3 s, disconnect initiated_by=client",
        summary(observed),
    )
    check_reconnect(observed)
    stale = [event for event in observed["stale_detected"] if event["scope"] == "connection"]
    assert len(stale) == 1
    assert 3.0 <= stale[0]["silent_s"] < 5.0
    assert observed["disconnect"][0]["initiated_by"] == "client"
    assert observed["disconnect"][0]["reason"] == "stale"


def test_server_down_and_up_reconnects_with_backoff_and_backfills(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """While the exchange is down every redial fails and waits a growing, capped delay; once it
    is back the session reconnects and backfills the outage."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(reconnect_after_fault(url, tmp_path, {"kind": "down", "duration_s": 4}))
    report(
        "server down 4 s -> backoff redials, reconnect, backfill",
        "down for 4 s",
        "several reconnect_wait with growing capped delays, 1 disconnect, backfill",
        summary(observed),
    )
    check_reconnect(observed)
    delays = [wait["delay_s"] for wait in observed["reconnect_wait"]]
    assert len(delays) >= 2, delays
    assert delays == sorted(delays), delays
    assert observed["reconnected"][0]["time_to_reconnect_s"] >= 3.5
