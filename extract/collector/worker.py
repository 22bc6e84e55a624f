"""A worker process: collect a set of exchanges into this worker's landing database.

The supervisor forks it from its forkserver and calls :func:`main` with ``--worker-id N
--exchanges a,b --config-json '{...}'`` (``python -m extract.collector.worker`` takes the same
arguments, to run one worker by hand). It holds its landing database's lock
(:mod:`extract.collector.landing_lock`) for its whole life: a second worker on the same file
exits with :data:`EXIT_LANDING_LOCKED` without touching it. On SIGTERM/SIGINT, or when its
supervisor is gone, it stops taking work (sessions record a ``collector_stop`` per open
connection and close their sockets), writes its counters (a final ``worker_heartbeat``), commits
everything it received, logs its counts and exits 0. Every ``status_interval_s`` it logs a
``worker_status`` line and commits the same counters as a ``worker_heartbeat`` event (with each
exchange's pending ``malformed_message`` count). A worker whose landing database cannot be
opened exits with :data:`EXIT_LANDING_UNAVAILABLE`; an unexpected error in a session exits 1
after flushing, so the supervisor restarts it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from extract.collector.config import CollectorConfig, ConfigError
from extract.collector.landing_lock import LandingLock
from extract.collector.logs import configure, describe_error, log_event
from extract.collector.pids import exited, open_pidfd
from extract.collector.pipeline import LandingPipeline
from extract.collector.session import ExchangeSession
from extract.collector.writer import LandingWriter, make_event
from extract.timeutil import epoch_us_now

EXIT_LANDING_UNAVAILABLE = 3
EXIT_LANDING_LOCKED = 4
FINAL_FLUSH_ATTEMPTS = 5


async def _start_later(session: ExchangeSession, delay_s: float) -> None:
    if delay_s:
        try:
            await asyncio.wait_for(session.stop.wait(), timeout=delay_s)
            return
        except TimeoutError:
            pass
    await session.run()


def _counters(sessions: Sequence[ExchangeSession], pipeline: LandingPipeline) -> dict[str, int]:
    """What this worker counted since it started; written as a worker_heartbeat event."""
    stats = [session.capture.stats for session in sessions]
    return {
        "ticks_captured": sum(s.ticks for s in stats),
        "reconnects": sum(session.reconnects for session in sessions),
        "malformed": sum(s.malformed for s in stats),
        "duplicates": sum(s.duplicates for s in stats),
        "out_of_order": sum(s.out_of_order for s in stats),
        "dropped": pipeline.stats.ticks_dropped,
        "write_failures": pipeline.stats.write_failures,
        "connects": sum(s.connects for s in stats),
        "disconnects": sum(s.disconnects for s in stats),
        "duplicate_close_callbacks": sum(s.duplicate_close_callbacks for s in stats),
    }


def _status_fields(
    sessions: Sequence[ExchangeSession], pipeline: LandingPipeline
) -> dict[str, int]:
    return {
        **_counters(sessions, pipeline),
        "ticks_landed": pipeline.stats.ticks_landed,
        "connections_up": sum(session.connections_up() for session in sessions),
        "queue_depth": pipeline.depth,
    }


def _write_counters(
    sessions: Sequence[ExchangeSession], pipeline: LandingPipeline, *, final: bool
) -> None:
    """Queue the counters for commit: each exchange's pending malformed_message count, then one
    worker_heartbeat with this worker's totals, so the table's totals equal the log's."""
    for session in sessions:
        session.capture.flush_counters()
    details: dict[str, Any] = {"final": final, **_counters(sessions, pipeline)}
    pipeline.event(make_event("worker_heartbeat", **details))


async def _report_status(
    worker_id: int, sessions: Sequence[ExchangeSession], pipeline: LandingPipeline, every_s: float
) -> None:
    previous = 0
    previous_us = epoch_us_now()
    while True:
        await asyncio.sleep(every_s)
        _write_counters(sessions, pipeline, final=False)
        fields = _status_fields(sessions, pipeline)
        now = epoch_us_now()
        rate = (fields["ticks_captured"] - previous) / max((now - previous_us) / 1e6, 1e-6)
        previous, previous_us = fields["ticks_captured"], now
        log_event(
            logging.INFO,
            "worker_status",
            exchange=None,
            worker=worker_id,
            ticks_per_s=round(rate, 1),
            tasks=len(asyncio.all_tasks()),
            **fields,
        )


async def _stop_when_orphaned(supervisor_pid: int, stop: asyncio.Event) -> None:
    """A worker whose supervisor died (SIGKILL) drains and exits at once rather than collect on
    unsupervised, possibly next to the workers of a restarted supervisor."""
    pidfd = open_pidfd(supervisor_pid)
    try:
        await exited(pidfd)
    finally:
        if pidfd is not None:
            os.close(pidfd)
    log_event(logging.ERROR, "supervisor_gone", exchange=None, pid=supervisor_pid)
    stop.set()


def backfill_since_us(
    writer: LandingWriter, exchange_id: str, config: CollectorConfig
) -> int | None:
    """Where the start-up gap of an exchange begins: its last live tick, else the history
    window asked for with --backfill-initial-minutes, else no start-up backfill."""
    if not config.backfill:
        return None
    last_live_us = writer.last_live_tick_us(exchange_id)
    if last_live_us is not None or not config.backfill_initial_minutes:
        return last_live_us
    return epoch_us_now() - config.backfill_initial_minutes * 60_000_000


async def run_worker(
    worker_id: int, exchanges: Sequence[str], config: CollectorConfig, supervisor_pid: int = 0
) -> int:
    db_path = config.worker_db_path(worker_id)
    lock = LandingLock(db_path)
    try:
        if not lock.try_acquire(pid=os.getpid(), supervisor_pid=supervisor_pid):
            log_event(
                logging.ERROR,
                "landing_locked",
                exchange=None,
                worker=worker_id,
                db=str(db_path),
                holder=json.dumps(lock.holder()),
            )
            return EXIT_LANDING_LOCKED
        writer = LandingWriter(db_path, worker_id, max_bytes=int(config.landing_max_mb * 2**20))
    except (sqlite3.Error, OSError) as error:
        log_event(
            logging.ERROR,
            "landing_open_failed",
            exchange=None,
            worker=worker_id,
            db=str(db_path),
            error=describe_error(error),
        )
        return EXIT_LANDING_UNAVAILABLE
    pipeline = LandingPipeline(
        writer,
        batch_size=config.batch_size,
        flush_interval_s=config.flush_interval_s,
        queue_size=config.queue_size,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sessions = [
        ExchangeSession(
            exchange_id,
            config,
            pipeline,
            stop,
            resume_since_us=backfill_since_us(writer, exchange_id, config),
        )
        for exchange_id in exchanges
    ]
    log_event(
        logging.INFO,
        "worker_started",
        exchange=None,
        worker=worker_id,
        exchanges=",".join(exchanges),
        db=str(db_path),
        event_loop=type(asyncio.get_running_loop()).__module__.split(".")[0],
    )
    pipeline.start()
    status = asyncio.create_task(
        _report_status(worker_id, sessions, pipeline, config.status_interval_s)
    )
    orphan_watch = (
        asyncio.create_task(_stop_when_orphaned(supervisor_pid, stop)) if supervisor_pid else None
    )
    session_tasks = [
        asyncio.create_task(_start_later(session, index * config.exchange_start_delay_s))
        for index, session in enumerate(sessions)
    ]
    crashed = await _wait_for_stop_or_crash(worker_id, session_tasks, stop)
    stop.set()
    await _drain(worker_id, session_tasks, pipeline, config.drain_timeout_s)
    background = [task for task in (status, orphan_watch) if task is not None]
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    _write_counters(sessions, pipeline, final=True)
    flushed = await pipeline.drain(FINAL_FLUSH_ATTEMPTS)
    if not flushed:
        log_event(logging.ERROR, "ticks_lost_at_exit", exchange=None, queue_depth=pipeline.depth)
    log_event(
        logging.INFO,
        "worker_exit",
        exchange=None,
        worker=worker_id,
        **_status_fields(sessions, pipeline),
        backfilled=sum(session.backfilled_rows for session in sessions),
    )
    writer.close()
    lock.release()
    return 1 if crashed or not flushed else 0


async def _wait_for_stop_or_crash(
    worker_id: int, session_tasks: Sequence[asyncio.Task[None]], stop: asyncio.Event
) -> bool:
    """Wait for a stop request, or until every session ended; True if a session crashed."""
    stop_waiter = asyncio.create_task(stop.wait())
    running = set(session_tasks)
    try:
        while running and not stop.is_set():
            await asyncio.wait({*running, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
            for task in [task for task in running if task.done()]:
                running.discard(task)
                failure = task.exception()
                if failure is not None:
                    log_event(
                        logging.ERROR,
                        "session_crashed",
                        exchange=None,
                        worker=worker_id,
                        error=describe_error(failure),
                    )
                    return True
        return False
    finally:
        stop_waiter.cancel()


async def _drain(
    worker_id: int,
    session_tasks: Sequence[asyncio.Task[None]],
    pipeline: LandingPipeline,
    timeout_s: float,
) -> None:
    """Let sessions close their sockets (bounded), then cancel what is left."""
    log_event(
        logging.INFO, "worker_draining", exchange=None, worker=worker_id, queue_depth=pipeline.depth
    )
    _, pending = await asyncio.wait(session_tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5.0)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m extract.collector.worker")
    parser.add_argument("--worker-id", type=int, required=True)
    parser.add_argument("--exchanges", required=True)
    parser.add_argument("--config-json", required=True)
    parser.add_argument(
        "--supervisor-pid", type=int, default=0, help="stop (draining) when this process is gone"
    )
    args = parser.parse_args(list(argv))
    try:
        config = CollectorConfig.from_json(args.config_json)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure(config.log_level, config.log_file)
    exchanges = [name for name in args.exchanges.split(",") if name]
    return _run_event_loop(
        run_worker(args.worker_id, exchanges, config, args.supervisor_pid), config.uvloop
    )


def _run_event_loop(main_coroutine: Coroutine[Any, Any, int], use_uvloop: bool) -> int:
    """Run the worker on uvloop, whose socket reads and callbacks cost the event loop less per
    frame (docs/performance.md), unless switched off or not installed (it has no Windows build)."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main_coroutine)
    return asyncio.run(main_coroutine)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
