"""``--list-only``: the unique exchanges and base assets in the sources (within the window).

A ``select distinct`` per id slice of each file (from the window's floor id, see
``sources.window_floor_id``) (SQLite keeps the few distinct pairs in a small
ephemeral index), slices in parallel threads: stdlib ``sqlite3`` releases the GIL while it steps.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from extract.export.options import ExportOptions
from extract.export.sources import (
    RowFilter,
    SourceError,
    connect_readonly,
    snapshot_table,
    where_clause,
    window_floor_id,
)
from extract.export.tables import MARKET_TICKS

_SLICE_IDS: Final = 500_000


@dataclass(frozen=True)
class Uniques:
    exchanges: tuple[str, ...]
    assets: tuple[str, ...]
    failures: tuple[str, ...]


NO_UNIQUES: Final = Uniques(exchanges=(), assets=(), failures=())


def base_asset(symbol: str) -> str:
    return symbol.split("/", 1)[0].strip().upper()


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        with closing(connect_readonly(path)) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot read market_ticks: {error}") from error


def _slice_pairs(
    path: Path, options: ExportOptions, after_id: int, upto_id: int
) -> set[tuple[str, str]]:
    row_filter = RowFilter(
        after_id=after_id,
        upto_id=upto_id,
        since_text=options.window.since_text,
        until_text=options.window.until_text,
        exchanges=options.exchanges,
        assets=options.assets,
        symbols=options.symbols,
    )
    where = where_clause(MARKET_TICKS, row_filter)
    sql = f"select distinct exchange_id, symbol from market_ticks where {where}"
    return {(str(exchange), str(symbol)) for exchange, symbol in _query(path, sql)}


def _source_slices(
    pool: ThreadPoolExecutor, path: Path, options: ExportOptions
) -> list[Future[set[tuple[str, str]]]]:
    snapshot = snapshot_table(path, MARKET_TICKS)
    if snapshot is None:
        raise SourceError(path, "no market_ticks table: not a landing database")
    since = options.window.since
    first = 0
    if since is not None:
        first = window_floor_id(path, MARKET_TICKS, snapshot.columns, since, snapshot.max_id)
    return [
        pool.submit(_slice_pairs, path, options, start, start + _SLICE_IDS)
        for start in range(first, snapshot.max_id, _SLICE_IDS)
    ]


def list_uniques(sources: list[Path], options: ExportOptions) -> Uniques:
    pairs: set[tuple[str, str]] = set()
    failures: dict[Path, str] = {}
    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        submitted: dict[Path, list[Future[set[tuple[str, str]]]]] = {}
        for path in sources:
            try:
                submitted[path] = _source_slices(pool, path, options)
            except SourceError as error:
                failures[path] = str(error)
        for path, futures in submitted.items():
            for future in futures:
                try:
                    pairs |= future.result()
                except SourceError as error:
                    failures.setdefault(path, str(error))
    return Uniques(
        exchanges=tuple(sorted({exchange for exchange, _ in pairs})),
        assets=tuple(sorted({base_asset(symbol) for _, symbol in pairs})),
        failures=tuple(failures.values()),
    )
