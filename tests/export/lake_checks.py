"""Reading back what the export wrote, and what the sources hold, to compare the two."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from extract.export.cli import main as export_main


def run_export(landing_dir: Path, lake_dir: Path, *extra: str) -> int:
    """The real CLI entry point, in process."""
    return export_main(
        [
            "--input-glob",
            str(landing_dir / "worker_*.sqlite"),
            "--output-dir",
            str(lake_dir),
            *extra,
        ]
    )


def data_files(lake_dir: Path) -> list[Path]:
    """The files a lake reader's glob sees."""
    return sorted(lake_dir.glob("*/date=*/exchange_id=*/*.parquet"))


def lake_keys(lake_dir: Path, table: str) -> list[tuple[str, int]]:
    """(source_file, source_row_id) of every row in the lake table, duplicates kept."""
    if not list(lake_dir.glob(f"{table}/*/*/*.parquet")):
        return []
    with duckdb.connect() as connection:
        rows = connection.sql(
            f"select source_file, source_row_id from read_parquet("
            f"'{lake_dir}/{table}/*/*/*.parquet', hive_partitioning=true) order by all"
        ).fetchall()
    return [(str(name), int(row_id)) for name, row_id in rows]


def lake_ticks(lake_dir: Path) -> list[tuple[Any, ...]]:
    """Every tick as (file, id, exchange, symbol, reception µs, price, exchange ms, source)."""
    with duckdb.connect() as connection:
        return connection.sql(
            f"select source_file, source_row_id, exchange_id, symbol, epoch_us(ingestion_ts_utc), "
            f"price, bid, ask, quote_volume, exchange_ts_ms, epoch_us(exchange_ts_utc), "
            f"exchange_ts_source, source, worker_id, connection_id, cast(date as varchar) "
            f"from read_parquet('{lake_dir}/market_ticks/*/*/*.parquet', hive_partitioning=true) "
            f"order by 1, 2"
        ).fetchall()


def source_keys(paths: list[Path], table: str, where: str = "1 = 1") -> list[tuple[str, int]]:
    keys = []
    for path in paths:
        with closing(sqlite3.connect(path)) as connection:
            ids = connection.execute(f"select id from {table} where {where}").fetchall()
        keys += [(path.name, int(row_id)) for (row_id,) in ids]
    return sorted(keys)


def run_metadata(lake_dir: Path) -> list[dict[str, Any]]:
    """Every run's metadata document, oldest first."""
    documents = [json.loads(p.read_text()) for p in (lake_dir / "_runs").glob("*.json")]
    return sorted(documents, key=lambda document: document["run_started_utc"])
