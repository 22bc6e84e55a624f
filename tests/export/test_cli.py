"""The command line: listing, and clear one-line errors for bad options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from export.lake_checks import run_export
from export.landing_factory import Landing
from extract.export.state import exclusive_lock

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_list_only_prints_unique_exchanges_and_assets_and_writes_nothing(
    three_landings: list[Landing],
    landing_dir: Path,
    lake_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_export(landing_dir, lake_dir, "--list-only", "--assets", "btc,sol") == 0

    out = capsys.readouterr().out
    assert "Worker DB files used: 3" in out
    assert "Unique exchanges in source window (3):\n  binance, coinbase, kraken" in out
    assert "Unique assets in source window (2):\n  BTC, SOL" in out
    assert not lake_dir.exists()


def test_list_only_honours_the_window(
    three_landings: list[Landing], landing_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_export(landing_dir, landing_dir, "--list-only", "--since", "2030-01-01") == 0

    assert "Unique exchanges in source window (0):\n  -" in capsys.readouterr().out


def test_the_module_entry_point_reads_where_the_collector_lands_by_default(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    collector_template = str(landing_dir / "worker_{worker_id}.sqlite")
    result = subprocess.run(
        [sys.executable, "-m", "extract", "export", "--output-dir", str(lake_dir), "--list-only"],
        cwd=REPO_ROOT,
        env={**os.environ, "EXTRACT_WORKER_DB_TEMPLATE": collector_template},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Worker DB files used: 3" in result.stdout
    assert "binance, coinbase, kraken" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "-1"], "--hours must be > 0"),
        (["--hours", "2", "--since", "2026-11-18"], "give --hours or --since, not both"),
        (["--since", "yesterday"], "--since 'yesterday' is not an ISO-8601 time"),
        (["--since", "2026-11-19", "--until", "2026-11-18"], "--since must be before --until"),
        (["--incremental", "--until", "2026-11-18"], "--until cannot be combined with"),
        (["--output-format", "xlsx"], "invalid choice: 'xlsx'"),
        (["--chunk-size", "0"], "--chunk-size must be > 0"),
        (["--update-state", "--until", "2026-11-18"], "--until cannot be combined with --update"),
        (["--progress-interval-seconds", "0"], "--progress-interval-seconds must be > 0"),
        (["--source-uniques-mode", "all"], "invalid choice: 'all'"),
        (["--output-format", "csv", "--include-raw-json"], "--include-raw-json applies to"),
    ],
)
def test_bad_options_exit_2_with_a_one_line_reason(
    landing_dir: Path,
    lake_dir: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert run_export(landing_dir, lake_dir, *args) == 2

    assert message in capsys.readouterr().err


def test_no_matching_database_is_a_clear_error(
    landing_dir: Path, lake_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_export(landing_dir, lake_dir) == 2

    assert "no landing databases match --input-glob" in capsys.readouterr().err


def test_two_exports_on_one_state_file_do_not_overlap(
    three_landings: list[Landing],
    landing_dir: Path,
    lake_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with exclusive_lock(lake_dir / "_state" / "staging_export_state.json"):
        assert run_export(landing_dir, lake_dir, "--incremental") == 2

    assert "another export is running with this state file" in capsys.readouterr().err
    assert not list(lake_dir.glob("market_ticks"))


def test_filter_values_are_quoted_safely(
    three_landings: list[Landing],
    landing_dir: Path,
    lake_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("--list-only", "--exchanges", "binance' or '1'='1", "--assets", "btc")
    assert run_export(landing_dir, lake_dir, *args) == 0

    assert "Unique exchanges in source window (0):" in capsys.readouterr().out
