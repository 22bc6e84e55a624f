"""Peer benchmark: this collector and cryptofeed on the same binance burst, in the same run.

Both clients run as their own processes against one private sandbox (binance's real wire format,
the full 24 h ticker stream of 5 symbols) and land every ticker into SQLite:

- this collector: ``python -m extract run --sandbox URL`` with one worker (supervisor, fork
  server and worker are all counted), raw JSON kept;
- cryptofeed 2.4.1, in its own bench-only environment (``.venv-peer``, created here with uv from
  the package registry on first use), running bench/peer_clients/cryptofeed_binance.py: its own
  decode and ``Ticker`` objects, a callback landing each ticker with its raw JSON in 500-row
  batches (no ticker dropped: its queue is the event loop's); and the same with a callback that
  only counts (cryptofeed's own cost, the stretch baseline).

The sandbox's own feed runs at a hundredth of its rate (one update per symbol every 100 s), so a
window holds the burst alone. Per run and client: start it, burst one update per symbol until it
lands one (it has subscribed), wait until its landed count holds still (no update is in flight
or waiting for a commit), note the sandbox's sent counter and the landed count, burst
``20,000 x scale`` updates, wait until everything sent since then has landed (bounded), and read
the CPU time of the client's whole process tree over that window (psutil, every process that
lived through it) and its peak RSS (sampled every 50 ms). Runs alternate between the clients;
figures are medians of ``RUNS``. Ticks kept are counted in each client's SQLite, never assumed,
and set against what the sandbox sent: with nothing in flight when the window opens, the two
counts are equal when nothing was lost.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.result import BenchResult
from extract.sandbox.process import SandboxProcess
from extract.sandbox.recording import burst

REPO = Path(__file__).resolve().parent.parent
PEER_VENV = REPO / ".venv-peer"
CRYPTOFEED = "cryptofeed==2.4.1"
PEER_CLIENT = REPO / "bench" / "peer_clients" / "cryptofeed_binance.py"
EXCHANGE = "binance"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT")
FRAMES_AT_SCALE_1 = 20_000
RUNS = 5
START_TIMEOUT_S = 90.0
SANDBOX_RATE_SCALE = "0.01"
# longer than either client's commit interval (0.5 s), so a count that held still this long has
# every received update committed
QUIET_S = 1.5
LAND_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
SAMPLE_S = 0.05


def ensure_peer_environment() -> Path:
    """The peer's Python, creating ``.venv-peer`` with uv on first use (on this interpreter, so
    nothing but packages is fetched); fails loudly."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / f".installed-{CRYPTOFEED}"
    if marker.exists():
        return python
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    print(f"[peer] creating {PEER_VENV} with {CRYPTOFEED} (first run only)", flush=True)
    for command in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(PEER_VENV)],
        [uv, "pip", "install", "--quiet", "--python", str(python), CRYPTOFEED],
    ):
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()[-2000:]}")
    marker.touch()
    return python


@dataclass(frozen=True)
class Client:
    name: str
    command: Callable[[str, Path], list[str]]  # (sandbox URL, work dir) -> argv
    landed: Callable[[Path], int]  # rows landed so far, read from its SQLite


def _count(path: Path, sql: str) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def _ours(url: str, work: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "extract",
        "run",
        "--sandbox",
        url,
        "--exchanges",
        EXCHANGE,
        "--symbols",
        ",".join(SYMBOLS),
        "--workers",
        "1",
        "--worker-db-template",
        str(work / "worker_{worker_id}.sqlite"),
        "--no-backfill",
        "--status-interval-s",
        "60",
        "--duration-s",
        "900",
    ]


def _cryptofeed(*options: str) -> Callable[[str, Path], list[str]]:
    def command(url: str, work: Path) -> list[str]:
        pairs = ",".join(symbol.replace("/", "-") for symbol in SYMBOLS)
        python = str(PEER_VENV / "bin" / "python")
        return [python, str(PEER_CLIENT), url, str(work / "peer.sqlite"), pairs, *options]

    return command


CLIENTS = (
    Client(
        "this collector",
        _ours,
        lambda work: _count(
            work / "worker_0.sqlite", "SELECT count(*) FROM market_ticks WHERE source = 'ws'"
        ),
    ),
    Client(
        "cryptofeed",
        _cryptofeed(),
        lambda work: _count(work / "peer.sqlite", "SELECT count(*) FROM ticks"),
    ),
    Client(
        "cryptofeed, no-op callback",
        _cryptofeed("--no-op"),
        lambda work: _count(work / "peer.sqlite", "SELECT max(tickers) FROM progress"),
    ),
)


def _sent(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_control/state", timeout=10) as response:
        state = json.load(response)
    sent = state["exchanges"][EXCHANGE]["sent"]
    return sum(int(sent.get(symbol, 0)) for symbol in SYMBOLS)


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_by_pid(process: psutil.Process) -> dict[int, float]:
    seconds = {}
    for member in _tree(process):
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[member.pid] = times.user + times.system
    return seconds


def _rss(process: psutil.Process) -> tuple[int, int]:
    """(the tree's summed RSS, its largest process's RSS), in bytes."""
    sizes = []
    for member in _tree(process):
        try:
            sizes.append(member.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return sum(sizes), max(sizes, default=0)


@dataclass(frozen=True)
class Window:
    cpu_s: float
    kept: int
    sent: int
    peak_tree_rss: int
    peak_process_rss: int

    @property
    def cpu_per_100k(self) -> float:
        return self.cpu_s * 100_000 / max(self.kept, 1)


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=STOP_TIMEOUT_S)


def _wait_until_quiet(client: Client, url: str, work: Path, popen: subprocess.Popen[bytes]) -> None:
    """Burst one update per symbol until the client has landed one, then wait until its landed
    count holds still for ``QUIET_S``."""
    deadline = time.monotonic() + START_TIMEOUT_S

    def check(problem: str) -> None:
        if popen.poll() is not None:
            raise RuntimeError(f"{client.name} exited with code {popen.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{client.name} {problem} within {START_TIMEOUT_S:.0f} s")

    while (landed := client.landed(work)) == 0:
        check("landed nothing")
        asyncio.run(burst(url, EXCHANGE, SYMBOLS, len(SYMBOLS)))
        time.sleep(0.5)
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < QUIET_S:
        check("did not stop landing")
        time.sleep(SAMPLE_S)
        if (now := client.landed(work)) != landed:
            landed, quiet_since = now, time.monotonic()


def _measure(client: Client, url: str, count: int) -> Window:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        log = (work / "client.log").open("wb")
        popen = subprocess.Popen(client.command(url, work), stdout=log, stderr=log)
        try:
            process = psutil.Process(popen.pid)
            try:
                _wait_until_quiet(client, url, work, popen)
            except RuntimeError as error:
                log.flush()
                tail = (work / "client.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{error}: {tail}") from error
            sent_before, kept_before = _sent(url), client.landed(work)
            cpu_before = _cpu_by_pid(process)
            peak_tree, peak_process = _rss(process)
            asyncio.run(burst(url, EXCHANGE, SYMBOLS, count))
            deadline = time.monotonic() + LAND_TIMEOUT_S
            sent = kept = 0
            # counted together at the same moment: a re-read after the loop would count ticks
            # the regular feed sent since, not yet committed
            while time.monotonic() < deadline:
                tree, largest = _rss(process)
                peak_tree, peak_process = max(peak_tree, tree), max(peak_process, largest)
                sent = _sent(url) - sent_before
                kept = client.landed(work) - kept_before
                if sent >= count and kept >= sent:
                    break
                time.sleep(SAMPLE_S)
            cpu_after = _cpu_by_pid(process)
        finally:
            _stop(popen)
            log.close()
    cpu_s = sum(after - cpu_before.get(pid, 0.0) for pid, after in cpu_after.items())
    return Window(cpu_s, kept, sent, peak_tree, peak_process)


def _median(windows: Sequence[Window], figure: Callable[[Window], float]) -> float:
    return statistics.median(figure(window) for window in windows)


def run(scale: float = 1.0) -> list[BenchResult]:
    ensure_peer_environment()
    count = max(1_000, int(FRAMES_AT_SCALE_1 * scale))
    windows: dict[str, list[Window]] = {client.name: [] for client in CLIENTS}
    with SandboxProcess("--exchanges", EXCHANGE, "--rate-scale", SANDBOX_RATE_SCALE) as sandbox:
        for _ in range(RUNS):
            for client in CLIENTS:
                windows[client.name].append(_measure(client, sandbox.url, count))
    ours, peer = windows["this collector"], windows["cryptofeed"]
    no_op = windows["cryptofeed, no-op callback"]
    burst_note = f"burst of {count} binance 24hrTicker updates over {len(SYMBOLS)} symbols"
    kept = "; ".join(
        f"{name}: kept {'/'.join(str(w.kept) for w in found)} of sent "
        f"{'/'.join(str(w.sent) for w in found)}"
        for name, found in windows.items()
    )
    mib = 2**20
    ours_cpu = _median(ours, lambda w: w.cpu_per_100k)
    return [
        BenchResult(
            benchmark="peer",
            metric="CPU s per 100k ticks landed in SQLite (client's whole process tree)",
            unit="CPU s",
            value=ours_cpu,
            baseline_name="cryptofeed 2.4.1 landing every ticker into SQLite, same burst",
            baseline_value=_median(peer, lambda w: w.cpu_per_100k),
            higher_is_better=False,
            runs=RUNS,
            goal="at most cryptofeed's: ratio <= 1",
            notes=f"{burst_note}, runs alternating; {kept}",
        ),
        BenchResult(
            benchmark="peer",
            metric="CPU s per 100k ticks landed in SQLite (client's whole process tree)",
            unit="CPU s",
            value=ours_cpu,
            baseline_name="cryptofeed 2.4.1 with a no-op callback (nothing landed), same burst",
            baseline_value=_median(no_op, lambda w: w.cpu_per_100k),
            higher_is_better=False,
            runs=RUNS,
            goal="stretch: within 1.5x of cryptofeed's no-op callback",
            notes=burst_note,
        ),
        BenchResult(
            benchmark="peer",
            metric="peak RSS of the largest process (our worker; cryptofeed's only process)",
            unit="MiB",
            value=_median(ours, lambda w: w.peak_process_rss / mib),
            baseline_name="cryptofeed 2.4.1, same burst",
            baseline_value=_median(peer, lambda w: w.peak_process_rss / mib),
            higher_is_better=False,
            runs=RUNS,
            goal="worker RSS at most 2x cryptofeed's: ratio <= 2",
            notes=(
                "whole tree: ours "
                f"{_median(ours, lambda w: w.peak_tree_rss / mib):.0f} MiB (supervisor, fork "
                f"server, worker), cryptofeed {_median(peer, lambda w: w.peak_tree_rss / mib):.0f}"
            ),
        ),
        BenchResult(
            benchmark="peer",
            metric="ticks landed / ticks the sandbox sent during the window",
            unit="share",
            value=_median(ours, lambda w: w.kept / max(w.sent, 1)),
            baseline_name="cryptofeed 2.4.1, same burst",
            baseline_value=_median(peer, lambda w: w.kept / max(w.sent, 1)),
            higher_is_better=True,
            runs=RUNS,
            goal="1.0: every tick landed",
            notes=kept,
        ),
    ]


if __name__ == "__main__":
    for result in run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(
            f"{result.metric}: {result.value:,.3g} {result.unit} vs {result.baseline_name}: "
            f"{result.baseline_value:,.3g} (ratio {result.ratio:.2f}) {result.notes}"
        )
