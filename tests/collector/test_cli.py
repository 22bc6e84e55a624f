"""``python -m extract run`` and ``python -m extract capabilities`` as a user runs them."""

from __future__ import annotations

import json
import logging
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.harness import events, query
from extract.collector.capabilities import main as capabilities_main
from extract.collector.cli import main as cli_main
from extract.collector.logs import LOGGER_NAME
from extract.exchanges import EXCHANGES

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_extract(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extract", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.slow
def test_a_sandbox_run_lands_ticks_from_all_four_exchanges_with_latency(
    tmp_path: Path, sandbox_url: str
) -> None:
    """``run --sandbox URL --duration-s 15`` stops by itself, and every sandbox exchange has
    ticks with the exchange's own time (so latency is measurable) in the workers' databases."""
    completed = run_extract(
        "run",
        "--sandbox",
        sandbox_url,
        "--duration-s",
        "15",
        "--workers",
        "2",
        "--worker-db-template",
        str(tmp_path / "worker_{worker_id}.sqlite"),
        "--plan-output",
        str(tmp_path / "plan.json"),
        "--status-interval-s",
        "5",
        timeout_s=90,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert sorted(name for w in plan["workers"] for name in w["exchanges"]) == sorted(EXCHANGES)
    by_exchange: dict[str, tuple[int, int, float]] = {}
    for worker in plan["workers"]:
        db = Path(worker["db_path"])
        for exchange, ticks, with_time, latency in query(
            db,
            "SELECT exchange_id, count(*), sum(exchange_ts_source = 'exchange'), "
            "avg(ingestion_ts_us / 1000.0 - exchange_ts_ms) FROM market_ticks "
            "WHERE source = 'ws' GROUP BY exchange_id",
        ):
            by_exchange[exchange] = (ticks, with_time, latency)
        assert [e["reason"] for e in events(db, "worker_stop")] == ["stop requested"]
        assert len(events(db, "worker_start")) == 1
    print(f"\nticks, ticks with exchange time, mean latency ms per exchange: {by_exchange}")
    assert sorted(by_exchange) == sorted(EXCHANGES)
    for ticks, with_time, latency in by_exchange.values():
        assert ticks > 0
        assert with_time == ticks
        assert 0 < latency < 5_000
    assert "event=worker_status" in completed.stderr
    exits = [
        dict(pair.split("=", 1) for pair in shlex.split(line) if "=" in pair)
        for line in completed.stderr.splitlines()
        if "event=worker_exit" in line
    ]
    assert len(exits) == len(plan["workers"])
    for exit_line in exits:  # SIGTERM drained every received tick to disk
        assert exit_line["ticks_landed"] == exit_line["ticks_captured"]
        assert exit_line["queue_depth"] == "0"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """In-process CLI calls configure the collector's logger; put it back afterwards."""
    logger = logging.getLogger(LOGGER_NAME)
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved


@pytest.mark.usefixtures("restore_logging")
def test_dry_run_writes_the_plan_and_starts_no_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = cli_main(
        [
            "--sandbox",
            "--dry-run",
            "--workers",
            "3",
            "--worker-db-template",
            str(tmp_path / "worker_{worker_id}.sqlite"),
            "--plan-output",
            str(tmp_path / "plan.json"),
        ]
    )
    assert exit_code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "plan.json").read_text())
    assert [len(worker["exchanges"]) for worker in printed["workers"]] == [2, 1, 1]
    assert not list(tmp_path.glob("*.sqlite"))


@pytest.mark.slow
@pytest.mark.usefixtures("restore_logging")
def test_profiling_scores_each_exchange_from_its_real_feed(
    tmp_path: Path, sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--profile-seconds`` runs each exchange's real session briefly; the plan carries
    bytes/s, reconnects/min and score = bytes_per_sec + 2000 * reconnects_per_min."""
    exit_code = cli_main(
        [
            "--sandbox",
            sandbox_url,
            "--profile-seconds",
            "3",
            "--dry-run",
            "--workers",
            "2",
            "--worker-db-template",
            str(tmp_path / "worker_{worker_id}.sqlite"),
            "--plan-output",
            str(tmp_path / "plan.json"),
        ]
    )
    assert exit_code == 0
    plan = json.loads(capsys.readouterr().out)
    for exchange, figures in plan["exchanges"].items():
        assert figures["bytes_per_sec"] > 0, exchange
        assert not figures["failed"]
        expected = figures["bytes_per_sec"] + 2000 * figures["reconnects_per_min"]
        assert figures["score"] == pytest.approx(max(1.0, expected), abs=0.5)
    loads = sorted(worker["load"] for worker in plan["workers"])
    assert len(loads) == 2
    assert not list(tmp_path.glob("*.sqlite"))


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "error: --batch-size must be >= 1"),
        (["--exchanges", "nosuchexchange"], "error: --exchanges: not ccxt.pro exchanges"),
        (["--sandbox", "--exchanges", "bybit"], "error: --sandbox serves only"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["--dry-run", *args]) == 2
    stderr = capsys.readouterr().err.strip()
    assert stderr.startswith(message)
    assert len(stderr.splitlines()) == 1


def test_a_run_against_a_closed_port_exits_2_within_10_s_with_a_hint(tmp_path: Path) -> None:
    """Nothing listens at the --sandbox URL: the collector says so and how to start the
    sandbox, instead of retrying for --duration-s and landing nothing."""
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    completed = run_extract(
        "run",
        "--sandbox",
        url,
        "--duration-s",
        "60",
        "--worker-db-template",
        str(tmp_path / "worker_{worker_id}.sqlite"),
        "--plan-output",
        str(tmp_path / "plan.json"),
        timeout_s=60,
    )
    elapsed = time.monotonic() - started
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert elapsed < 10, f"took {elapsed:.1f} s to notice that nothing listens at {url}"
    assert f"--sandbox {url}: no sandbox is listening" in completed.stderr
    assert "make sandbox" in completed.stderr
    assert not list(tmp_path.iterdir()), "nothing is planned or landed without a sandbox"


def test_capabilities_lists_what_each_exchange_supports(capsys: pytest.CaptureFixture[str]) -> None:
    assert capabilities_main(["--exchanges", "binance,alpaca", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "exchange,watch_tickers,watch_ticker,fetch_tickers,fetch_ohlcv,collect_by"
    assert lines[1] == "binance,yes,yes,yes,yes,watch_tickers"
    assert lines[2].startswith("alpaca,no,yes,")
    assert capabilities_main(["--exchanges", "nope"]) == 2


@pytest.mark.slow
def test_start_up_history_backfill_pages_past_each_exchange_candle_cap(
    tmp_path: Path, sandbox_url: str
) -> None:
    """With ``--backfill-initial-minutes 800`` an empty landing database gets 800 minutes of
    1-minute history per symbol, flagged ``backfill``: more than one OHLCV response holds on
    okx and coinbase (300) and kraken (720), so the backfill must page, without duplicates."""
    completed = run_extract(
        "run",
        "--sandbox",
        sandbox_url,
        "--duration-s",
        "3",
        "--workers",
        "1",
        "--max-symbols-per-exchange",
        "1",
        "--backfill-initial-minutes",
        "800",
        "--backfill-max-minutes",
        "800",
        "--worker-db-template",
        str(tmp_path / "worker_{worker_id}.sqlite"),
        "--plan-output",
        str(tmp_path / "plan.json"),
        timeout_s=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = query(
        tmp_path / "worker_0.sqlite",
        "SELECT exchange_id, count(*), count(DISTINCT exchange_ts_ms), "
        "(max(exchange_ts_ms) - min(exchange_ts_ms)) / 60000 + 1 FROM market_ticks "
        "WHERE source = 'backfill' GROUP BY exchange_id",
    )
    print(f"\nbackfill rows, distinct minutes, minutes spanned per exchange: {rows}")
    assert sorted(exchange for exchange, *_ in rows) == sorted(EXCHANGES)
    for _, landed, distinct_minutes, spanned in rows:
        assert landed == distinct_minutes == spanned, "contiguous minutes, each landed once"
        assert 800 <= landed <= 802


def test_initial_backfill_longer_than_the_backfill_cap_is_refused() -> None:
    completed = run_extract(
        "run", "--backfill-initial-minutes", "90", "--backfill-max-minutes", "60", timeout_s=60
    )
    assert completed.returncode == 2
    assert "--backfill-initial-minutes must not exceed --backfill-max-minutes" in completed.stderr
