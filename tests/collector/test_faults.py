"""The capture-side fault suite: each test names its fault and promise, injects the fault into a
private sandbox, and prints what was injected, expected and observed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collector.harness import (
    InProcessCollector,
    control,
    events,
    fast_config,
    query,
    report,
    sent_count,
)
from extract.collector.logs import LOGGER_NAME

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EXCHANGE = "binance"


def live_ticks(run: InProcessCollector) -> int:
    return run.count("SELECT count(*) FROM market_ticks WHERE source = 'ws'")


def events_in(tmp_path: Path, event_type: str) -> list[dict[str, Any]]:
    """Events of worker 0's landing database, read after the collector stopped."""
    return events(tmp_path / "worker_0.sqlite", event_type)


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


async def collect_with_fault(
    url: str, tmp_path: Path, fault: dict[str, Any] | None, settle_ticks: int
) -> dict[str, Any]:
    """Collect until ticks flow, inject ``fault`` (if any), collect ``settle_ticks`` more live
    ticks, and return the counters and events the tests check."""
    config = fast_config(tmp_path, url, exchanges=(EXCHANGE,))
    async with InProcessCollector(config, [EXCHANGE]) as run:
        await run.until(lambda: live_ticks(run) > 0, 25, "the first tick")
        if fault is not None:
            await control(url, "faults", {"exchange": EXCHANGE, **fault})
        target = live_ticks(run) + settle_ticks
        await run.until(lambda: live_ticks(run) >= target, 30, f"{settle_ticks} more ticks")
        stats = run.session(EXCHANGE).capture.stats
        return {
            "malformed": stats.malformed,
            "duplicates": stats.duplicates,
            "landed": live_ticks(run),
            "sent": await sent_count(url, EXCHANGE),
            "events": {
                name: run.events(name)
                for name in (
                    "malformed_message",
                    "subscription_rejected",
                    "rate_limited",
                    "reconnect_wait",
                    "subscribed",
                    "disconnect",
                )
            },
        }


def test_malformed_frames_are_counted_and_never_crash_the_session(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """Frames replaced by invalid JSON are counted; the connection stays up and later ticks keep
    landing. The first one is recorded at once (count 1); the rest, within the event interval,
    are written when the session stops, so the events' counts add up to every malformed frame."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(collect_with_fault(url, tmp_path, {"kind": "malformed", "count": 5}, 15))
    events = observed["events"]
    after_stop = events_in(tmp_path, "malformed_message")
    report(
        "malformed frames are counted, never crash; the table holds every one after the stop",
        "5 malformed ticker frames",
        "malformed=5; while running 1 event (count 1); after the stop the counts add up to 5; "
        "no disconnect, ticks continue",
        f"malformed={observed['malformed']} events while running="
        f"{[e['count'] for e in events['malformed_message']]} after the stop="
        f"{[e['count'] for e in after_stop]} disconnects={len(events['disconnect'])} "
        f"sent={observed['sent']} landed={observed['landed']}",
    )
    assert observed["malformed"] == 5
    assert [event["count"] for event in events["malformed_message"]] == [1]
    assert "sample" in events["malformed_message"][0]
    assert [event["count"] for event in after_stop] == [1, 4]
    assert after_stop[-1]["total"] == 5
    assert events["disconnect"] == []
    # sent is read last, so a frame or two may still be in flight
    assert observed["landed"] + observed["malformed"] >= observed["sent"] - 2


def test_duplicate_frames_are_counted_and_never_crash_the_session(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """Ticker frames sent twice are landed as received (the warehouse flags duplicates) and
    counted by the capture; the session carries on."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(collect_with_fault(url, tmp_path, {"kind": "duplicate", "count": 5}, 15))
    report(
        "duplicate frames are counted, never crash",
        "5 ticker frames sent twice",
        "duplicates=5, no disconnect, ticks continue",
        f"duplicates={observed['duplicates']} sent={observed['sent']} landed={observed['landed']}",
    )
    assert observed["duplicates"] == 5
    assert observed["events"]["disconnect"] == []


def test_rejected_subscription_is_recorded_and_retried_with_bounded_waits(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """The first subscription gets the exchange's error answer: the session records
    subscription_rejected (it never waits forever), backs off, resubscribes and collects."""
    url = start_sandbox(
        "--exchanges", EXCHANGE, "--fault", f"reject_subscription:exchange={EXCHANGE},count=1"
    )
    observed = asyncio.run(collect_with_fault(url, tmp_path, None, 5))
    events = observed["events"]
    report(
        "rejected subscription -> event, bounded retry",
        "reject_subscription count=1",
        "1 subscription_rejected, a reconnect_wait, then ticks",
        f"rejected={events['subscription_rejected']} waits="
        f"{[w['delay_s'] for w in events['reconnect_wait']]} landed={observed['landed']}",
    )
    assert len(events["subscription_rejected"]) == 1
    assert events["reconnect_wait"][0]["reason"] == "subscription_rejected"
    assert observed["landed"] >= 5


def test_http_429_is_recorded_and_retried_after_the_backoff(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """REST answers 429 (markets): the session records rate_limited, waits at least the backoff
    (capped by reconnect_max_s), retries and collects."""
    url = start_sandbox("--exchanges", EXCHANGE, "--fault", f"http_429:exchange={EXCHANGE},count=2")
    observed = asyncio.run(collect_with_fault(url, tmp_path, None, 5))
    events = observed["events"]
    report(
        "HTTP 429 -> rate_limited, bounded retry",
        "http_429 on the first 2 REST requests",
        "2 rate_limited events, reconnect_wait per retry, then ticks",
        f"rate_limited={[(e['phase'], e['retry_after_s']) for e in events['rate_limited']]} "
        f"waits={[w['delay_s'] for w in events['reconnect_wait']]} landed={observed['landed']}",
    )
    assert len(events["rate_limited"]) == 2
    assert all(event["phase"] == "markets" for event in events["rate_limited"])
    assert [w["reason"] for w in events["reconnect_wait"]] == ["rate_limited", "rate_limited"]
    assert all(w["delay_s"] <= 2.0 for w in events["reconnect_wait"])
    assert observed["landed"] >= 5


def test_full_landing_database_logs_one_clear_error_keeps_committed_ticks_and_runs_on(
    tmp_path: Path, start_sandbox: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    """The landing database fills up (capped at 0.3 MB, as a full disk behaves): one clear
    landing_write_failed error is logged, capture keeps running and holds new ticks in memory,
    every tick committed before stays committed, and the file passes integrity_check."""
    logging.getLogger(LOGGER_NAME).propagate = True
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    url = start_sandbox("--exchanges", EXCHANGE)
    config = fast_config(tmp_path, url, exchanges=(EXCHANGE,), landing_max_mb=0.3, batch_size=100)

    async def scenario() -> tuple[int, int, int, int]:
        async with InProcessCollector(config, [EXCHANGE]) as run:
            await run.until(lambda: live_ticks(run) > 0, 25, "the first tick")
            await control(url, "burst", {"exchange": EXCHANGE, "symbol": "BTC/USDT", "count": 2000})
            await run.until(lambda: run.pipeline.stats.write_failures > 0, 30, "a failed commit")
            captured_at_failure = run.session(EXCHANGE).capture.stats.ticks
            await run.until(
                lambda: run.session(EXCHANGE).capture.stats.ticks > captured_at_failure + 5,
                30,
                "capture to carry on",
            )
            held = run.pipeline.depth
            committed = run.pipeline.stats.ticks_landed
            failures = run.pipeline.stats.write_failures
        return committed, held, failures, run.session(EXCHANGE).capture.stats.ticks

    committed, held, failures, captured = asyncio.run(scenario())
    in_file = query(config.worker_db_path(0), "SELECT count(*) FROM market_ticks")[0][0]
    integrity = query(config.worker_db_path(0), "PRAGMA integrity_check")[0][0]
    errors = [r for r in caplog.records if r.getMessage() == "landing_write_failed"]
    report(
        "a full landing database: clear error, committed ticks kept, no crash",
        "landing database capped at 0.3 MB, then a burst of 2000 updates",
        "1 landing_write_failed log line, rows in file == rows committed, capture continues",
        f"committed={committed} in_file={in_file} held_in_memory={held} captured={captured} "
        f"commit_failures={failures} error_lines={len(errors)} integrity={integrity}",
    )
    assert in_file == committed
    assert integrity == "ok"
    assert held > 0
    assert len(errors) == 1
    assert "full" in errors[0].__dict__["structured_fields"]["error"]


async def backfill_after_rate_limits(url: str, tmp_path: Path, limited: int) -> dict[str, Any]:
    """Collect until ticks flow, make the next ``limited`` REST requests answer 429, drop the
    connection, and wait for the reconnect's backfill to finish. After a reconnect the only REST
    requests are the backfill's OHLCV pages (markets are loaded once), so the 429s hit them."""
    config = fast_config(tmp_path, url, exchanges=(EXCHANGE,), backfill_retries=RETRIES)
    async with InProcessCollector(config, [EXCHANGE]) as run:
        await run.until(lambda: live_ticks(run) > 0, 25, "the first tick")
        await control(url, "faults", {"kind": "http_429", "exchange": EXCHANGE, "count": limited})
        await control(url, "faults", {"kind": "drop", "exchange": EXCHANGE, "mode": "abort"})
        await run.until(lambda: bool(run.events("backfill_done")), 40, "the backfill to finish")
        symbols = run.session(EXCHANGE).plan
        assert symbols is not None
        state = await control(url, "state")
        return {
            "retries": run.events("backfill_retry"),
            "failed": run.events("backfill_failed"),
            "done": run.events("backfill_done")[0],
            "symbols": list(symbols.symbols),
            "repaired": {
                symbol
                for (symbol,) in query(
                    run.db_path,
                    "SELECT DISTINCT symbol FROM market_ticks WHERE source = 'backfill'",
                )
            },
            "answered_429": state["exchanges"][EXCHANGE]["counters"]["http_429"],
        }


RETRIES = 3


@pytest.mark.parametrize("limited", [RETRIES, RETRIES + 1])
def test_rate_limited_backfill_is_retried_after_retry_after_until_the_gap_is_repaired(
    tmp_path: Path, start_sandbox: Callable[..., str], limited: int
) -> None:
    """429s during the reconnect backfill: each rate-limited OHLCV request is retried after the
    backoff, at least the exchange's Retry-After (the sandbox sends 1 s), and recorded as
    backfill_retry. With as many 429s as retries the gap of every symbol is repaired; one more
    and the first symbol is given up (backfill_failed) only after its retries were spent, while
    the other symbols are still repaired."""
    url = start_sandbox("--exchanges", EXCHANGE)
    observed = asyncio.run(backfill_after_rate_limits(url, tmp_path, limited))
    retries, failed = observed["retries"], observed["failed"]
    first = observed["symbols"][0]
    report(
        "a 429 during the backfill is retried (Retry-After honoured) until repaired or spent",
        f"{limited} x HTTP 429 on the OHLCV requests after a reconnect, backfill_retries={RETRIES}",
        f"{min(limited, RETRIES)} backfill_retry with delay >= 1 s; backfill_failed only with "
        f"{RETRIES + 1} 429s; every other symbol repaired",
        f"retries={[(r['symbol'], r['attempt'], r['delay_s'], r['reason']) for r in retries]} "
        f"failed={[(f['symbol'], f['attempts']) for f in failed]} "
        f"repaired={sorted(observed['repaired'])} of {observed['symbols']} "
        f"429s answered={observed['answered_429']}",
    )
    assert observed["answered_429"] == limited
    assert [(r["symbol"], r["attempt"]) for r in retries] == [
        (first, attempt) for attempt in range(1, RETRIES + 1)
    ]
    assert all(r["reason"] == "rate_limited" and r["retry_after_s"] == 1.0 for r in retries)
    assert all(1.0 <= r["delay_s"] <= 2.0 for r in retries), "Retry-After within the backoff cap"
    if limited <= RETRIES:
        assert failed == []
        assert observed["repaired"] == set(observed["symbols"])
    else:
        assert [(f["symbol"], f["attempts"]) for f in failed] == [(first, RETRIES + 1)]
        assert observed["repaired"] == set(observed["symbols"]) - {first}
    assert observed["done"]["failed_symbols"] == len(failed)
