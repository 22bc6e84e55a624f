"""The run metadata follows staging_export_run_metadata (every 1.0.0 field, and its rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from export.lake_checks import run_export, run_metadata
from export.landing_factory import START_US, Landing, insert_ticks, tick_rows

FIELDS_1_0_0 = (
    "contract_name",
    "contract_version",
    "run_id",
    "run_started_utc",
    "run_finished_utc",
    "mode.incremental",
    "window.hours",
    "window.default_start_utc",
    "window.end_utc",
    "query_bounds.market_ticks.lower_utc",
    "query_bounds.market_ticks.lower_inclusive",
    "query_bounds.market_ticks.upper_utc",
    "query_bounds.connection_events.lower_utc",
    "query_bounds.connection_events.lower_inclusive",
    "query_bounds.connection_events.upper_utc",
    "query_bounds.connection_events.included",
    "source.input_glob",
    "source.worker_db_count",
    "source.worker_db_files",
    "options.output_format",
    "options.include_connection_events",
    "options.chunk_size",
    "filters.exchanges",
    "filters.assets",
    "uniques.source.exchanges",
    "uniques.source.assets",
    "uniques.exported.exchanges",
    "uniques.exported.assets",
    "watermarks.previous.market_ticks_ingestion_ts_utc",
    "watermarks.previous.connection_events_event_ts_utc",
    "watermarks.exported_max.market_ticks_ingestion_ts_utc",
    "watermarks.exported_max.connection_events_event_ts_utc",
    "watermarks.new.market_ticks_ingestion_ts_utc",
    "watermarks.new.connection_events_event_ts_utc",
    "state.path",
    "state.key",
    "state.update_requested",
    "state.updated",
    "row_counts.market_ticks",
    "row_counts.connection_events",
    "output_files",
)


def _field(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        assert part in value, f"missing {dotted}"
        value = value[part]
    return value


def test_every_run_document_has_the_contract_fields_and_reconciles_with_the_lake(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--incremental", "--hours", "1000") == 0
    insert_ticks(three_landings[2].path, tick_rows(77, start_us=START_US + 10**9, seed=4))
    assert run_export(landing_dir, lake_dir, "--incremental", "--hours", "1000") == 0

    documents = run_metadata(lake_dir)
    assert len(documents) == 2
    for document in documents:
        for dotted in FIELDS_1_0_0:
            _field(document, dotted)
        assert document["contract_name"] == "staging_export_run_metadata"
        assert document["run_started_utc"] <= document["run_finished_utc"]
        assert document["window"]["default_start_utc"] <= document["window"]["end_utc"]
        assert document["source"]["worker_db_count"] == len(document["source"]["worker_db_files"])
        by_source = document["row_counts"]["by_source"].values()
        assert document["row_counts"]["market_ticks"] == sum(c["market_ticks"] for c in by_source)
        with duckdb.connect() as connection:
            ((in_lake,),) = connection.sql(
                f"select count(*) from read_parquet('{lake_dir}/market_ticks/*/*/*.parquet', "
                f"filename=true) where filename like '%part-{document['run_id']}-%'"
            ).fetchall()
        assert in_lake == document["row_counts"]["market_ticks"]
    first, second = documents
    assert second["row_counts"]["market_ticks"] == 77
    assert second["watermarks"]["previous"] == first["watermarks"]["new"]
    assert second["state"]["updated"] is True
