"""DuckDB and Spark build the same warehouse from the same lake (issue 16).

The fixture lake is both hand-made lakes of the DuckDB tests in one directory: the known lake of
tests/fixtures/known_lake.py (day boundaries, backfill bars, rows without times, negative
latency) and the messy market of tests/fixtures/messy_market.py through the real exporter (two
collector sessions, gaps, an outlier, replays, bursts, one quarantined row per reason). It is built
once per module on each engine: in-process on DuckDB (tests/fixtures/warehouse.py), in a child
process on Spark (tests/fixtures/spark_warehouse.py). Then every model of the compared layers is
one test: the same columns and rows on both engines, floats within 1e-9 relative
(tests/fixtures/table_parity.py); a failure names the model, the columns and the first rows that
differ.

Both builds run as ``dbt build -> forecast -> dbt build``: after the full build, the two fixed
forecast runs of tests/fixtures/forecast_runs.py are written into each warehouse (DuckDBWarehouse,
SparkWarehouse) and the forecast models are built again, so the forecast marts are compared with
rows (a test checks they have some on DuckDB).

Spark needs Java: without it these tests fail (they are not skipped), saying so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from extract.export.cli import main as export_main
from forecasting.warehouse import DuckDBWarehouse
from tests.fixtures.forecast_runs import FORECAST_SELECTION, append_parity_forecast_runs
from tests.fixtures.known_lake import write_known_lake
from tests.fixtures.messy_market import write_messy_landing_db
from tests.fixtures.spark_warehouse import (
    BUILD_TIMEOUT_S,
    SparkBuild,
    build_spark_warehouse,
    java_problem,
)
from tests.fixtures.table_parity import (
    PARITY_LAYERS,
    compare_model,
    parity_models,
    unique_keys,
    utc_connection,
)
from tests.fixtures.warehouse import build_warehouse, dbt_target_dir

# The module's first test waits for both builds (a few minutes of Spark on two cores).
pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.timeout(BUILD_TIMEOUT_S + 600)]

MODELS = parity_models()


def write_parity_lake(root: Path) -> Path:
    """The known lake and the exported messy market in one lake directory."""
    lake_dir = root / "lake"
    write_known_lake(lake_dir)
    landing_dir = root / "landing"
    landing_dir.mkdir()
    write_messy_landing_db(landing_dir / "worker_1.sqlite")
    exported = export_main(
        ["--input-glob", str(landing_dir / "worker_*.sqlite"), "--output-dir", str(lake_dir)]
    )
    assert exported == 0
    return lake_dir


@dataclass(frozen=True)
class ParityBuilds:
    duckdb_path: Path
    duckdb_seconds: float
    spark: SparkBuild
    keys: dict[str, tuple[str, ...]]

    def timings(self) -> str:
        return (
            f"DuckDB builds {self.duckdb_seconds:.1f} s; Spark build {self.spark.seconds:.1f} s "
            f"(dbt {self.spark.summary.get('dbt_seconds')} s, forecast runs written in "
            f"{self.spark.summary.get('forecast_write_seconds')} s, forecast models' dbt build "
            f"{self.spark.summary.get('forecast_dbt_seconds')} s, the rest JVM start and view "
            "export)"
        )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> ParityBuilds:
    problem = java_problem()
    if problem is not None:
        pytest.fail(f"the Spark parity tests need Spark, which needs Java: {problem}")
    root = tmp_path_factory.mktemp("spark_parity")
    lake_dir = write_parity_lake(root)
    duckdb_path = root / "duckdb" / "warehouse.duckdb"
    started = time.monotonic()
    build_warehouse(lake_dir, duckdb_path)
    warehouse = DuckDBWarehouse(duckdb_path)
    try:
        append_parity_forecast_runs(warehouse)
    finally:
        warehouse.close()
    build_warehouse(lake_dir, duckdb_path, extra_args=["--select", *FORECAST_SELECTION])
    duckdb_seconds = time.monotonic() - started
    spark = build_spark_warehouse(lake_dir, root / "spark", forecast_runs=True)
    keys = unique_keys(dbt_target_dir(duckdb_path) / "manifest.json")
    result = ParityBuilds(duckdb_path, duckdb_seconds, spark, keys)
    (root / "timings.json").write_text(
        json.dumps({"duckdb_s": duckdb_seconds, "spark_s": spark.seconds, **spark.summary})
    )
    return result


@pytest.fixture(scope="module")
def duckdb_warehouse(builds: ParityBuilds) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = utc_connection(builds.duckdb_path)
    yield connection
    connection.close()


def test_spark_build_has_no_failed_nodes(builds: ParityBuilds) -> None:
    print(builds.timings())
    assert builds.spark.summary["dbt_exception"] is None, builds.spark.summary
    assert builds.spark.summary["forecast_dbt_exception"] is None, builds.spark.summary
    assert builds.spark.summary["forecast_runs_written"] == 2, builds.spark.summary
    assert builds.spark.nodes, f"dbt recorded no node (output: {builds.spark.output_log})"
    if builds.spark.failed_nodes():
        pytest.fail(
            f"dbt build --target spark: {builds.spark.failure_summary()}\n"
            f"(output: {builds.spark.output_log})",
            pytrace=False,
        )
    assert builds.spark.summary["dbt_success"], builds.spark.output_log


def test_every_model_of_the_compared_layers_is_compared(builds: ParityBuilds) -> None:
    manifest = json.loads((dbt_target_dir(builds.duckdb_path) / "manifest.json").read_text())
    in_manifest = {
        f"{node['schema']}.{node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] in PARITY_LAYERS
    }
    assert in_manifest == set(MODELS)


FORECAST_MARTS = {
    "marts.mart_forecast_accuracy": "true",
    "marts.mart_forecast_outcomes": "true",
    "marts.mart_forecast_track_record": "runs = 2",
    "marts.mart_forecast_vs_actual": "is_forecast and actual_price is not null",
}


def test_forecast_marts_have_rows_to_compare(
    duckdb_warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """The forecast runs reach the forecast marts (else their parity would compare nothing):
    rows, forecasts matched to actuals, a track record of both runs."""
    assert set(FORECAST_MARTS) <= set(MODELS)
    for mart, condition in FORECAST_MARTS.items():
        query = f"select count(*) from {mart} where {condition}"
        [(count,)] = duckdb_warehouse.execute(query).fetchall()  # fetched: the connection is shared
        assert count > 0, f"{mart} has no rows where {condition}"


@pytest.mark.parametrize("model", MODELS)
def test_model_is_the_same_on_duckdb_and_spark(
    model: str, builds: ParityBuilds, duckdb_warehouse: duckdb.DuckDBPyConnection
) -> None:
    relation = builds.spark.relations.get(model)
    if relation is None:
        reason = builds.spark.not_built_reason(model)
        pytest.fail(f"{model} is not in the Spark warehouse: {reason}", pytrace=False)
    if relation.error:
        pytest.fail(f"{model}: Spark could not read it back: {relation.error}", pytrace=False)
    report = compare_model(model, duckdb_warehouse, relation, builds.keys.get(model.split(".")[1]))
    if not report.ok:
        pytest.fail(report.message(), pytrace=False)
