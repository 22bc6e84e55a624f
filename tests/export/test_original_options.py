"""The original exporter's options: --symbols, --update-state/--no-update-state,
--print-unique-exchanges/--print-unique-assets, --source-uniques-mode, --progress and
--progress-interval-seconds, through the real CLI on real landing databases."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from export.lake_checks import lake_keys, run_export, run_metadata, source_keys
from export.landing_factory import START_US, Landing, insert_ticks, iso_ms, make_landing, tick_rows


def _add_ticks(path: Path, count: int, *, exchange_id: str | None = None) -> list[int]:
    """``count`` new ticks after the newest one (all of one exchange if given); their ids."""
    with closing(sqlite3.connect(path)) as connection:
        (last_id, newest_us) = connection.execute(
            "select max(id), max(ingestion_ts_us) from market_ticks"
        ).fetchone()
    insert_ticks(path, tick_rows(count, start_us=newest_us + 1_000, seed=9))
    if exchange_id is not None:
        with closing(sqlite3.connect(path)) as connection, connection:
            connection.execute(
                "update market_ticks set exchange_id = ? where id > ?", (exchange_id, last_id)
            )
    return list(range(last_id + 1, last_id + count + 1))


def test_symbols_export_only_those_markets_and_every_connection_level_event(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--symbols", "btc/usdt, ETH/USDT") == 0

    paths = [landing.path for landing in three_landings]
    expected = source_keys(paths, "market_ticks", "symbol in ('BTC/USDT', 'ETH/USDT')")
    assert 0 < len(expected) < sum(landing.ticks for landing in three_landings)
    assert lake_keys(lake_dir, "market_ticks") == expected
    # the landing factory's events are connection-level (no symbol): they all stay
    assert lake_keys(lake_dir, "connection_events") == source_keys(paths, "connection_events")
    (metadata,) = run_metadata(lake_dir)
    assert metadata["filters"]["symbols"] == ["BTC/USDT", "ETH/USDT"]
    assert metadata["uniques"]["exported"]["assets"] == ["BTC", "ETH"]
    assert len(metadata["uniques"]["source"]["assets"]) == 6  # the unfiltered window


def test_symbols_get_their_own_incremental_state_key(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--incremental", "--symbols", "SOL/USDT") == 0
    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    paths = [landing.path for landing in three_landings]
    sol = Counter(source_keys(paths, "market_ticks", "symbol = 'SOL/USDT'"))
    # the run without --symbols did not continue from the SOL/USDT run's watermarks
    assert (
        Counter(lake_keys(lake_dir, "market_ticks"))
        == Counter(source_keys(paths, "market_ticks")) + sol
    )
    keys = {document["state"]["key"] for document in run_metadata(lake_dir)}
    assert len(keys) == 2


def test_no_update_state_exports_the_new_rows_and_leaves_the_watermark_for_the_next_run(
    landing_dir: Path, lake_dir: Path
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=500)
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    new_ids = _add_ticks(landing.path, 40)

    assert run_export(landing_dir, lake_dir, "--incremental", "--no-update-state") == 0
    assert run_export(landing_dir, lake_dir, "--incremental", "--no-update-state") == 0
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    assert run_export(landing_dir, lake_dir, "--incremental") == 0  # nothing new: no run

    copies = Counter(row_id for _, row_id in lake_keys(lake_dir, "market_ticks"))
    assert {copies[row_id] for row_id in new_ids} == {3}
    assert set(copies.values()) == {1, 3}
    runs = run_metadata(lake_dir)
    assert [run["row_counts"]["market_ticks"] for run in runs] == [500, 40, 40, 40]
    assert [(run["state"]["update_requested"], run["state"]["updated"]) for run in runs] == [
        (True, True),
        (False, False),
        (False, False),
        (True, True),
    ]


def test_update_state_on_a_windowed_run_seeds_the_watermark_of_later_incremental_runs(
    landing_dir: Path, lake_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=2_000, events=0)
    since = iso_ms(START_US + 2_000_000)  # about half of the ticks are later

    windowed = source_keys([landing.path], "market_ticks", f"ingestion_ts_utc >= '{since}'")
    assert 0 < len(windowed) < landing.ticks

    assert run_export(landing_dir, lake_dir, "--since", since, "--update-state") == 0
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    assert "note=nothing new to export" in capsys.readouterr().out
    new_ids = _add_ticks(landing.path, 25)
    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    assert lake_keys(lake_dir, "market_ticks") == sorted(
        windowed + [(landing.path.name, row_id) for row_id in new_ids]
    )
    first, last = run_metadata(lake_dir)
    assert first["mode"]["incremental"] is False
    assert first["state"]["updated"] is True
    assert last["row_counts"]["market_ticks"] == 25


def test_print_unique_flags_print_the_source_window_after_an_export(
    three_landings: list[Landing],
    landing_dir: Path,
    lake_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        run_export(landing_dir, lake_dir, "--exchanges", "kraken", "--print-unique-exchanges") == 0
    )
    out = capsys.readouterr().out
    assert "Unique exchanges in source window (3):\n  binance, coinbase, kraken\n" in out
    assert "Unique assets" not in out

    args = ("--exchanges", "kraken", "--source-uniques-mode", "skip", "--print-unique-assets")
    assert run_export(landing_dir, lake_dir, *args, "--print-unique-exchanges") == 0
    out = capsys.readouterr().out
    assert "Unique exchanges in exported rows (1):\n  kraken\n" in out
    assert "Unique assets in exported rows (6):\n  ADA, BTC, DOGE, ETH, SOL, XRP\n" in out
    skipped = run_metadata(lake_dir)[-1]
    assert skipped["uniques"]["source"] is None
    assert skipped["options"]["source_uniques_mode"] == "skip"


def test_source_uniques_mode_scan_lists_the_whole_window_on_an_incremental_run(
    landing_dir: Path, lake_dir: Path
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=900, events=0)
    assert run_export(landing_dir, lake_dir, "--incremental") == 0
    _add_ticks(landing.path, 30, exchange_id="okx")

    scan = ("--incremental", "--no-update-state", "--source-uniques-mode", "scan")
    assert run_export(landing_dir, lake_dir, *scan) == 0
    assert run_export(landing_dir, lake_dir, "--incremental") == 0  # auto

    _, scanned, auto = run_metadata(lake_dir)
    assert scanned["uniques"]["exported"]["exchanges"] == ["okx"]
    assert scanned["uniques"]["source"]["exchanges"] == ["binance", "coinbase", "kraken", "okx"]
    assert auto["uniques"]["source"]["exchanges"] == ["okx"]  # no filter: the exported rows'


def _progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [message for message in caplog.messages if "event=export_progress" in message]


def test_progress_is_logged_per_interval_off_a_terminal_and_never_with_no_progress(
    landing_dir: Path, lake_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="extract.export.progress")
    make_landing(landing_dir / "worker_0.sqlite", ticks=60_000, events=0)
    slices = ("--chunk-size", "3000", "--workers", "1")

    assert run_export(landing_dir, lake_dir, *slices, "--progress-interval-seconds", "0.01") == 0
    lines = _progress_lines(caplog)
    assert len(lines) >= 2
    done = [int(re.findall(r"\brows=(\d+)", line)[0]) for line in lines]
    assert done == sorted(done)
    assert lines[-1].startswith("event=export_progress rows=60000 of=60000 pct=100.0 ")

    caplog.clear()
    assert run_export(landing_dir, tmp_path / "quiet", *slices, "--no-progress") == 0
    assert _progress_lines(caplog) == []
