"""Incremental runs: nothing twice, nothing lost, whatever order the collector commits in."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from export.lake_checks import data_files, lake_keys, run_export, run_metadata, source_keys
from export.landing_factory import START_US, Landing, insert_ticks, make_landing, tick_rows

REPO_ROOT = Path(__file__).resolve().parents[2]


def _all_files(directory: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in directory.rglob("*") if path.is_file()}


def test_a_second_run_with_no_new_rows_adds_no_row_and_writes_no_file(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    before = _all_files(lake_dir)
    keys_before = lake_keys(lake_dir, "market_ticks")

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    assert _all_files(lake_dir) == before  # not even the state or a metadata file
    assert lake_keys(lake_dir, "market_ticks") == keys_before
    assert len(keys_before) == sum(landing.ticks for landing in three_landings)


def test_rows_committed_late_with_older_times_are_picked_up_by_the_next_run(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    late = three_landings[0].path
    # reception times from the very start of the data: older than every exported row
    insert_ticks(late, tick_rows(250, start_us=START_US - 60_000_000, seed=7))

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    paths = [landing.path for landing in three_landings]
    assert lake_keys(lake_dir, "market_ticks") == source_keys(paths, "market_ticks")
    first, second = run_metadata(lake_dir)
    assert second["row_counts"]["market_ticks"] == 250
    marks = second["watermarks"]
    late_key = str(late.resolve())
    assert marks["previous"]["sources"][late_key]["market_ticks_last_id"] == 3_000
    assert marks["new"]["sources"][late_key]["market_ticks_last_id"] == 3_250
    assert second["state"] == {**first["state"], "updated": True}


@pytest.mark.slow
def test_ticks_committed_while_an_export_runs_appear_in_the_next_run(
    landing_dir: Path, lake_dir: Path
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=150_000, raw_json=False)
    command = [
        sys.executable,
        "-m",
        "extract",
        "export",
        "--input-glob",
        str(landing_dir / "worker_*.sqlite"),
        "--output-dir",
        str(lake_dir),
        "--incremental",
        "--chunk-size",
        "20000",
    ]
    stop = threading.Event()
    batches = []

    def collector() -> None:  # commits small batches, as the landing writer does
        start = START_US + 10**9
        for batch in range(200):
            if stop.is_set():
                return
            insert_ticks(landing.path, tick_rows(100, start_us=start + batch * 10**6, seed=batch))
            batches.append(batch)
            time.sleep(0.01)

    writer = threading.Thread(target=collector)
    writer.start()
    try:
        subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert batches, "the collector committed nothing while the export ran"

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    assert lake_keys(lake_dir, "market_ticks") == source_keys([landing.path], "market_ticks")
    assert sum(m["row_counts"]["market_ticks"] for m in run_metadata(lake_dir)) == len(
        source_keys([landing.path], "market_ticks")
    )


def test_a_recreated_database_is_noticed_and_its_rows_exported(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    recreated = three_landings[1].path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{recreated}{suffix}").unlink(missing_ok=True)
    make_landing(recreated, ticks=500, seed=42, start_us=START_US + 3_600_000_000)

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    latest = run_metadata(lake_dir)[-1]
    assert latest["row_counts"]["by_source"][str(recreated)]["market_ticks"] == 500
    bounds = latest["query_bounds"]["market_ticks"]["id_ranges"][str(recreated)]
    assert bounds == {
        "after_id": 0,
        "upto_id": 500,
        "time_window_applied": False,
        "source_recreated": True,
    }


def test_the_first_incremental_run_honours_the_window_and_later_runs_take_every_new_row(
    landing_dir: Path, lake_dir: Path
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=2_000)
    with closing(sqlite3.connect(landing.path)) as connection:
        (middle,) = connection.execute("select ingestion_ts_utc from market_ticks where id = 1000")
    assert run_export(landing_dir, lake_dir, "--incremental", "--since", middle[0]) == 0
    where = f"ingestion_ts_utc >= '{middle[0]}'"
    assert lake_keys(lake_dir, "market_ticks") == source_keys([landing.path], "market_ticks", where)

    insert_ticks(landing.path, tick_rows(10, start_us=START_US - 10**9, seed=3))  # before window
    assert run_export(landing_dir, lake_dir, "--incremental", "--since", middle[0]) == 0

    assert len(lake_keys(lake_dir, "market_ticks")) == 1_001 + 10
    state = json.loads((lake_dir / "_state" / "staging_export_state.json").read_text())
    assert state["pending_runs"] == {}
    assert len(data_files(lake_dir)) > 0


def test_skipping_connection_events_keeps_their_watermark_for_later_runs(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    insert_ticks(three_landings[0].path, tick_rows(40, start_us=START_US + 10**10, seed=9))

    assert run_export(landing_dir, lake_dir, "--incremental", "--skip-connection-events") == 0
    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    paths = [landing.path for landing in three_landings]
    assert lake_keys(lake_dir, "market_ticks") == source_keys(paths, "market_ticks")
    assert lake_keys(lake_dir, "connection_events") == source_keys(paths, "connection_events")
