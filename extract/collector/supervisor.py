"""Run one process per worker assignment and keep it running.

Policy (:class:`RestartPolicy`): a worker that exits with an error (or is killed) is restarted
after ``min(restart_base_s * 2^(n-1), restart_max_s)`` (:class:`extract.collector.backoff.Backoff`)
where ``n`` counts its consecutive failures; a worker that ran for ``stable_window_s`` before
failing starts again from ``n = 1``; after ``retry_budget`` consecutive failures it is marked
failed and left down. A worker that exits 0 on its own has finished (e.g. every exchange
excluded). Every state change is a connection event in that worker's landing database:
worker_start, worker_restart, worker_stop, worker_failed_permanently. On stop, every worker gets
SIGTERM and ``drain_timeout_s`` to flush before SIGKILL.

A worker is watched by its pid (a pidfd), not by the forkserver's pipe: if the forkserver dies,
its workers keep running and stay supervised (signalled, waited for) until they really exit.
Before each start the landing database is recovered (:mod:`extract.collector.recovery`): an
orphan still holding it is ended, and a session a kill left open gets its inferred worker_stop.
The worker itself holds the database's lock for its life, so two workers never write one file.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.process
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.collector.backoff import Backoff
from extract.collector.config import CollectorConfig
from extract.collector.logs import describe_error, log_event
from extract.collector.pids import exited, open_pidfd
from extract.collector.planning import WorkerAssignment
from extract.collector.recovery import LandingInUse, recover_landing
from extract.collector.writer import append_events, make_event
from extract.timeutil import iso_ms_from_epoch_us

EXIT_CODE_TIMEOUT_S = 5.0
KILL_WAIT_S = 10.0


@dataclass(frozen=True)
class RestartPolicy:
    backoff: Backoff
    stable_window_s: float
    retry_budget: int

    def delay_s(self, consecutive_failures: int) -> float:
        """Delay before restart number ``consecutive_failures`` (1-based)."""
        return self.backoff.delay_s(consecutive_failures)

    def failures_after_exit(self, previous_failures: int, ran_for_s: float) -> int:
        return 1 if ran_for_s >= self.stable_window_s else previous_failures + 1

    def gives_up(self, consecutive_failures: int) -> bool:
        return consecutive_failures > self.retry_budget


@dataclass(frozen=True)
class WorkerOutcome:
    worker_id: int
    state: str  # stopped | finished | failed
    starts: int
    last_exit_code: int | None


# Workers are forked from a forkserver that has imported the worker module and ccxt's base once,
# so starts and restarts skip that second of imports (each worker then loads only its exchanges'
# classes, see extract.ccxt_lazy); the forkserver is single-threaded, so forking from it is safe.
_WORKER_CONTEXT = multiprocessing.get_context("forkserver")
_WORKER_CONTEXT.set_forkserver_preload(["extract.collector.worker"])


def start_worker_server() -> None:
    """Start the forkserver now, so its ccxt import overlaps with the supervisor's own start."""
    multiprocessing.forkserver.ensure_running()


def _worker_entry(
    worker_id: int, exchanges: tuple[str, ...], config_json: str, supervisor_pid: int
) -> None:
    from extract.collector.worker import main

    sys.exit(
        main(
            [
                "--worker-id",
                str(worker_id),
                "--exchanges",
                ",".join(exchanges),
                "--config-json",
                config_json,
                "--supervisor-pid",
                str(supervisor_pid),
            ]
        )
    )


class WorkerProcess:
    """A started worker, followed by its pid: a pidfd becomes readable when the process exits,
    whoever its parent is, and signals sent through it can never reach a reused pid."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process
        assert process.pid is not None
        self.pid: int = process.pid
        self._pidfd = open_pidfd(self.pid)

    async def wait(self) -> None:
        """Return once the process has exited (killed or not)."""
        await exited(self._pidfd)

    def signal(self, signum: signal.Signals) -> None:
        if self._pidfd is None:
            return
        try:
            signal.pidfd_send_signal(self._pidfd, signum)
        except ProcessLookupError:
            pass

    async def exit_code(self) -> int | None:
        """After :meth:`wait`: the exit code the forkserver reports (255 when the forkserver that
        forked the worker is gone), or None if it does not say within EXIT_CODE_TIMEOUT_S."""
        await asyncio.to_thread(self.process.join, EXIT_CODE_TIMEOUT_S)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.process.exitcode


async def recover(db_path: Path, worker_id: int | None, config: CollectorConfig) -> bool:
    """Recover a landing database before a start (logged); False if another collector holds it."""
    try:
        inferred = await recover_landing(
            db_path, worker_id=worker_id, drain_timeout_s=config.drain_timeout_s
        )
    except LandingInUse as error:
        log_event(
            logging.ERROR, "landing_in_use", exchange=None, worker=worker_id, error=str(error)
        )
        return False
    if inferred is not None:
        log_event(
            logging.WARNING,
            "worker_stop_inferred",
            exchange=None,
            worker=worker_id,
            db=str(db_path),
            stop_utc=iso_ms_from_epoch_us(inferred.event_ts_us),
        )
    return True


class WorkerSupervisor:
    def __init__(self, assignment: WorkerAssignment, config: CollectorConfig) -> None:
        self.assignment = assignment
        self.config = config
        self.policy = RestartPolicy(
            Backoff(config.restart_base_s, config.restart_max_s),
            config.stable_window_s,
            config.retry_budget,
        )
        self.db_path = Path(assignment.db_path)
        self.worker: WorkerProcess | None = None
        self.starts = 0
        self.started = asyncio.Event()

    def _record(self, event_type: str, level: int = logging.INFO, **details: Any) -> None:
        worker_id = self.assignment.worker_id
        log_event(level, event_type, exchange=None, worker=worker_id, **details)
        try:
            append_events(self.db_path, [make_event(event_type, **details)], worker_id)
        except Exception as error:
            log_event(
                logging.ERROR,
                "event_write_failed",
                exchange=None,
                worker=worker_id,
                event_type=event_type,
                error=describe_error(error),
            )

    async def run(self, stop: asyncio.Event) -> WorkerOutcome:
        failures = 0
        exit_code: int | None = None
        while True:
            if not await recover(self.db_path, self.assignment.worker_id, self.config):
                return WorkerOutcome(self.assignment.worker_id, "failed", self.starts, exit_code)
            if stop.is_set():
                return WorkerOutcome(self.assignment.worker_id, "stopped", self.starts, exit_code)
            process = _WORKER_CONTEXT.Process(
                target=_worker_entry,
                args=(
                    self.assignment.worker_id,
                    self.assignment.exchanges,
                    self.config.to_json(),
                    os.getpid(),
                ),
                name=f"collector-worker-{self.assignment.worker_id}",
            )
            await asyncio.to_thread(process.start)
            self.worker = WorkerProcess(process)
            self.started.set()
            self.starts += 1
            started = time.monotonic()
            self._record(
                "worker_start",
                pid=self.worker.pid,
                attempt=self.starts,
                exchanges=list(self.assignment.exchanges),
            )
            exit_code = await self._wait_or_stop(stop)
            ran_for_s = round(time.monotonic() - started, 3)
            if stop.is_set():
                self._record(
                    "worker_stop", exit_code=exit_code, ran_for_s=ran_for_s, reason="stop requested"
                )
                return WorkerOutcome(self.assignment.worker_id, "stopped", self.starts, exit_code)
            if exit_code == 0:
                self._record("worker_stop", exit_code=0, ran_for_s=ran_for_s, reason="finished")
                return WorkerOutcome(self.assignment.worker_id, "finished", self.starts, 0)
            failures = self.policy.failures_after_exit(failures, ran_for_s)
            if self.policy.gives_up(failures):
                self._record(
                    "worker_failed_permanently",
                    level=logging.ERROR,
                    exit_code=exit_code,
                    consecutive_failures=failures,
                    retry_budget=self.policy.retry_budget,
                )
                return WorkerOutcome(self.assignment.worker_id, "failed", self.starts, exit_code)
            delay = self.policy.delay_s(failures)
            self._record(
                "worker_restart",
                level=logging.WARNING,
                exit_code=exit_code,
                ran_for_s=ran_for_s,
                delay_s=delay,
                consecutive_failures=failures,
            )
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue
            self._record("worker_stop", exit_code=exit_code, reason="stop requested while down")
            return WorkerOutcome(self.assignment.worker_id, "stopped", self.starts, exit_code)

    async def _wait_or_stop(self, stop: asyncio.Event) -> int | None:
        worker = self.worker
        assert worker is not None
        exit_seen = asyncio.create_task(worker.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({exit_seen, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exit_seen.done():
            worker.signal(signal.SIGTERM)  # the worker drains and exits 0
            try:
                await asyncio.wait_for(
                    asyncio.shield(exit_seen), timeout=self.config.drain_timeout_s
                )
            except TimeoutError:
                self._kill(worker, "drain timeout")
                try:
                    await asyncio.wait_for(exit_seen, timeout=KILL_WAIT_S)
                except TimeoutError:
                    self._kill(worker, f"still running {KILL_WAIT_S:g} s after SIGKILL")
        return await worker.exit_code()

    def _kill(self, worker: WorkerProcess, reason: str) -> None:
        log_event(
            logging.ERROR,
            "worker_kill",
            exchange=None,
            worker=self.assignment.worker_id,
            pid=worker.pid,
            reason=reason,
        )
        worker.signal(signal.SIGKILL)


async def supervise(
    assignments: Sequence[WorkerAssignment], config: CollectorConfig, stop: asyncio.Event
) -> list[WorkerOutcome]:
    """Run every worker until ``stop``; with ``duration_s``, stop that long after all started.
    Landing databases of the template that no worker is assigned (an earlier run had more
    workers) are recovered first, so a session a kill left open there is closed too."""
    assigned = {Path(assignment.db_path) for assignment in assignments}
    for db_path in config.existing_worker_db_paths():
        if db_path not in assigned:
            await recover(db_path, None, config)
    supervisors = [WorkerSupervisor(assignment, config) for assignment in assignments]
    runs = [asyncio.create_task(supervisor.run(stop)) for supervisor in supervisors]
    if config.duration_s:

        async def all_started() -> None:
            for supervisor in supervisors:
                await supervisor.started.wait()

        started = asyncio.create_task(all_started())
        waiting: set[asyncio.Future[Any]] = {started, *runs}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        asyncio.get_running_loop().call_later(config.duration_s, stop.set)
    return list(await asyncio.gather(*runs))
