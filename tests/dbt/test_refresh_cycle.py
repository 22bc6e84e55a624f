"""`python -m tools.refresh`: one cycle of the real export, dbt build and publish, with its lock.

The cycle runs its steps as subprocesses with the commands a user types; dbt's target directory
and logs go to the test's own directory (DBT_TARGET_PATH, DBT_LOG_PATH).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.messy_market import DAY, all_ticks, write_messy_landing_db
from tools.refresh import EXIT_ALREADY_RUNNING, ForecastCadence, cycle_lock, main

pytestmark = pytest.mark.slow


@pytest.fixture
def cycle_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    landing = tmp_path / "landing"
    landing.mkdir()
    write_messy_landing_db(landing / "worker_1.sqlite")
    monkeypatch.setenv("DWH_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt_logs"))
    return {
        "landing_glob": landing / "worker_*.sqlite",
        "build": tmp_path / "warehouse" / "build.duckdb",
        "serving": tmp_path / "warehouse" / "serving.duckdb",
        "run_results": tmp_path / "dbt_target" / "run_results.json",
    }


def cycle_arguments(paths: dict[str, Path]) -> list[str]:
    return [
        "--no-forecast",
        "--landing-glob",
        str(paths["landing_glob"]),
        "--build-path",
        str(paths["build"]),
        "--serving-path",
        str(paths["serving"]),
        "--run-results",
        str(paths["run_results"]),
    ]


def test_a_cycle_exports_builds_and_publishes(
    cycle_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cycle_arguments(cycle_paths)) == 0

    output = capsys.readouterr().out
    for step in ("export", "dbt build", "publish"):
        assert f"[refresh] {step}: done in " in output
    # Freshness: the newest usable tick is binance's 12:29:55 on the fixture's day.
    age = re.search(r"cycle done in [0-9.]+ s; published data: newest tick (\d+) s old", output)
    assert age is not None, output
    expected_age = datetime.now(UTC) - (DAY + timedelta(hours=12, minutes=29, seconds=55))
    assert abs(int(age.group(1)) - expected_age.total_seconds()) < 600
    with duckdb.connect(str(cycle_paths["serving"]), read_only=True) as connection:
        landed = connection.execute(
            "select count(*) from staging.stg_lake__market_ticks"
        ).fetchall()
    assert landed == [(len(all_ticks()),)]


def test_a_second_cycle_does_not_start_while_one_holds_the_lock(
    cycle_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with cycle_lock(cycle_paths["build"]):
        assert main(cycle_arguments(cycle_paths)) == EXIT_ALREADY_RUNNING
    assert "not started: another refresh cycle is running" in capsys.readouterr().out
    assert not cycle_paths["serving"].exists()


def test_forecasts_are_due_by_their_cadence(tmp_path: Path) -> None:
    cadence = ForecastCadence(tmp_path / "build.duckdb", timedelta(minutes=60))
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert cadence.is_due(now)  # never forecast
    cadence.record(now)
    assert not cadence.is_due(now + timedelta(minutes=59))
    assert cadence.is_due(now + timedelta(minutes=60))
