"""``--list-only``: the unique exchanges and base assets in the sources (within the window).

One ``select distinct`` per file (SQLite keeps the few distinct pairs in a small ephemeral
index), files in parallel threads: stdlib ``sqlite3`` releases the GIL while it steps.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from extract.export.options import ExportOptions
from extract.export.sources import RowFilter, SourceError, connect_readonly, where_clause
from extract.export.tables import MARKET_TICKS

_ALL_IDS: Final = 2**63 - 1


@dataclass(frozen=True)
class Uniques:
    exchanges: tuple[str, ...]
    assets: tuple[str, ...]
    failures: tuple[str, ...]


def base_asset(symbol: str) -> str:
    return symbol.split("/", 1)[0].strip().upper()


def _pairs(path: Path, options: ExportOptions) -> set[tuple[str, str]]:
    row_filter = RowFilter(
        after_id=0,
        upto_id=_ALL_IDS,
        since_text=options.window.since_text,
        until_text=options.window.until_text,
        exchanges=options.exchanges,
        assets=options.assets,
    )
    where, params = where_clause(MARKET_TICKS, row_filter)
    try:
        with closing(connect_readonly(path)) as connection:
            rows = connection.execute(
                f"select distinct exchange_id, symbol from market_ticks where {where}", params
            ).fetchall()
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot read market_ticks: {error}") from error
    return {(str(exchange), str(symbol)) for exchange, symbol in rows}


def list_uniques(sources: list[Path], options: ExportOptions) -> Uniques:
    pairs: set[tuple[str, str]] = set()
    failures = []
    with ThreadPoolExecutor(max_workers=max(1, min(options.workers, len(sources)))) as pool:
        futures = [pool.submit(_pairs, path, options) for path in sources]
        for future in futures:
            try:
                pairs |= future.result()
            except SourceError as error:
                failures.append(str(error))
    return Uniques(
        exchanges=tuple(sorted({exchange for exchange, _ in pairs})),
        assets=tuple(sorted({base_asset(symbol) for _, symbol in pairs})),
        failures=tuple(failures),
    )
