"""Rows the warehouse will quarantine are still exported, and each kind is counted per file, in
the summary line and in the run metadata: implausible reception times and text that is not UTF-8.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from export.lake_checks import run_export, run_metadata
from export.landing_factory import make_landing
from extract.export.transform import MAX_FUTURE, MIN_PLAUSIBLE_UTC

REPO_ROOT = Path(__file__).resolve().parents[2]
NOT_UTF8_JSON = "cast(X'7B2270223A22FF227D' as text)"  # {"p":"<0xFF>"}


def _epoch_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _set_reception_times(path: Path, times_by_id: dict[int, datetime]) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.executemany(
            "update market_ticks set ingestion_ts_us = ? where id = ?",
            [(_epoch_us(moment), row_id) for row_id, moment in times_by_id.items()],
        )


def _warnings(messages: list[str], event: str) -> dict[tuple[str, str], int]:
    """The rows counted by the warnings of one event, by (landing file name, table)."""
    found = {}
    for line in messages:
        if f"event={event} " in line:
            fields = re.search(r"file=(\S+) table=(\S+) rows=(\d+) ", line)
            assert fields is not None, line
            key = (Path(fields.group(1)).name, fields.group(2))
            assert key not in found, f"two warnings for {key}"
            found[key] = int(fields.group(3))
    return found


def _summary_count(output: str, name: str) -> int:
    (summary,) = [line for line in output.splitlines() if line.startswith("export run_id=")]
    match = re.search(rf"\b{name}=(\d+)", summary)
    assert match is not None, summary
    return int(match.group(1))


def test_reception_times_outside_the_plausible_window_are_exported_and_counted_per_file(
    landing_dir: Path,
    lake_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    first = make_landing(landing_dir / "worker_0.sqlite", ticks=40, seed=0)
    second = make_landing(landing_dir / "worker_1.sqlite", ticks=40, seed=1)
    implausible = {
        first.path: {
            3: MIN_PLAUSIBLE_UTC - timedelta(microseconds=1),
            4: now + timedelta(minutes=25),
            5: datetime(2099, 1, 1, tzinfo=UTC),
        },
        second.path: {7: datetime(1999, 12, 31, tzinfo=UTC)},
    }
    plausible_edges = {6: MIN_PLAUSIBLE_UTC, 8: now + MAX_FUTURE / 2}
    _set_reception_times(first.path, {**implausible[first.path], **plausible_edges})
    _set_reception_times(second.path, implausible[second.path])

    assert run_export(landing_dir, lake_dir) == 0

    assert _warnings(caplog.messages, "implausible_times") == {
        ("worker_0.sqlite", "market_ticks"): 3,
        ("worker_1.sqlite", "market_ticks"): 1,
    }
    assert _summary_count(capsys.readouterr().out, "implausible_times") == 4
    (metadata,) = run_metadata(lake_dir)
    assert metadata["row_counts"]["issues"]["market_ticks"]["implausible_times"] == 4
    assert metadata["row_counts"]["issues"]["connection_events"]["implausible_times"] == 0
    with duckdb.connect() as connection:
        exported = dict(
            connection.sql(
                f"select source_file || ':' || source_row_id, epoch_us(ingestion_ts_utc) "
                f"from read_parquet('{lake_dir}/market_ticks/*/*/*.parquet')"
            ).fetchall()
        )
    assert len(exported) == first.ticks + second.ticks  # nothing dropped
    for path, times in implausible.items():
        for row_id, moment in times.items():
            assert exported[f"{path.name}:{row_id}"] == _epoch_us(moment)


def test_text_that_is_not_utf8_is_repaired_counted_per_file_and_the_lake_reads_back(
    landing_dir: Path,
    lake_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = make_landing(landing_dir / "worker_0.sqlite", ticks=30, seed=0)
    second = make_landing(landing_dir / "worker_1.sqlite", ticks=30, seed=1)
    with closing(sqlite3.connect(first.path)) as connection, connection:
        connection.execute(f"update market_ticks set raw_json = {NOT_UTF8_JSON} where id in (2, 9)")
        connection.execute(
            f"update connection_events set details_json = {NOT_UTF8_JSON} where id = 1"
        )
    with closing(sqlite3.connect(second.path)) as connection, connection:
        connection.execute(f"update market_ticks set raw_json = {NOT_UTF8_JSON} where id = 30")

    assert run_export(landing_dir, lake_dir, "--include-raw-json") == 0

    assert _warnings(caplog.messages, "invalid_text_repaired") == {
        ("worker_0.sqlite", "market_ticks"): 2,
        ("worker_0.sqlite", "connection_events"): 1,
        ("worker_1.sqlite", "market_ticks"): 1,
    }
    assert _summary_count(capsys.readouterr().out, "repaired_text") == 4
    (metadata,) = run_metadata(lake_dir)
    assert metadata["row_counts"]["issues"]["market_ticks"]["repaired_text"] == 3
    assert metadata["row_counts"]["issues"]["connection_events"]["repaired_text"] == 1
    with duckdb.connect() as connection:  # every file of the lake reads, whole
        ticks = connection.sql(
            f"select source_file, source_row_id, raw_json "
            f"from read_parquet('{lake_dir}/market_ticks/*/*/*.parquet') "
            f"where raw_json not like '{{\"symbol\":%' order by all"
        ).fetchall()
        events = connection.sql(
            f'select count(*), count(*) filter (details_json = \'{{"p":"\ufffd"}}\') '
            f"from read_parquet('{lake_dir}/connection_events/*/*/*.parquet')"
        ).fetchall()
    repaired = '{"p":"\ufffd"}'
    assert ticks == [
        ("worker_0.sqlite", 2, repaired),
        ("worker_0.sqlite", 9, repaired),
        ("worker_1.sqlite", 30, repaired),
    ]
    assert events == [(first.events + second.events, 1)]


def test_the_exporters_plausible_window_is_the_one_dbt_quarantines_by() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    dbt_vars = project["vars"]

    assert datetime.fromisoformat(dbt_vars["min_plausible_ts_utc"]) == MIN_PLAUSIBLE_UTC
    assert timedelta(minutes=dbt_vars["max_future_ts_minutes"]) == MAX_FUTURE


@pytest.mark.parametrize("output_format", ["sqlite", "json"])
def test_the_original_formats_warn_about_implausible_times_and_keep_the_text(
    landing_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    output_format: str,
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=30, seed=0)
    texts = {4: "2099-01-01T00:00:00.000+00:00", 5: "2001-01-01T00:00:00.000+00:00"}
    with closing(sqlite3.connect(landing.path)) as connection, connection:
        connection.executemany(
            "update market_ticks set ingestion_ts_utc = ? where id = ?",
            [(text, row_id) for row_id, text in texts.items()],
        )
    out = tmp_path / "staging"

    assert run_export(landing_dir, out, "--output-format", output_format) == 0

    assert _warnings(caplog.messages, "implausible_times") == {
        ("worker_0.sqlite", "market_ticks"): 2
    }
    assert _summary_count(capsys.readouterr().out, "implausible_times") == 2
    (exported,) = out.glob("*.db" if output_format == "sqlite" else "*_market_ticks.json")
    if output_format == "sqlite":
        with closing(sqlite3.connect(exported)) as connection:
            rows = connection.execute(
                "select source_row_id, ingestion_ts_utc from market_ticks "
                "where source_row_id in (4, 5)"
            ).fetchall()
    else:
        records = json.loads(exported.read_text())
        rows = [
            (r["source_row_id"], r["ingestion_ts_utc"])
            for r in records
            if r["source_row_id"] in texts
        ]
    assert sorted(rows) == sorted(texts.items())
