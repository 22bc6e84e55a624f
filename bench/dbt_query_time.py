"""How long the SQL of a `dbt build` takes inside DuckDB, without dbt's own work around it.

Runs `dbt build` in this process (``tests/fixtures/warehouse.build_warehouse``, dbt's
``dbtRunner``) with one thread, so the statements run one after another, and times every
statement dbt-duckdb hands to DuckDB. The sum is what the same models and tests would cost if
something with no overhead at all sent the same SQL: the floor under any dbt build of this
project on this data. Prints one JSON object.

    .venv/bin/python -m bench.dbt_query_time LAKE_DIR WAREHOUSE.duckdb
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.environments.local import DuckDBCursorWrapper

from tests.fixtures.warehouse import build_warehouse

_NODE_MARKER = '"node_id": "'


class _StatementClock:
    """Wraps dbt-duckdb's cursor ``execute`` (the one call every statement goes through)."""

    def __init__(self) -> None:
        self.seconds_by_node: defaultdict[str, float] = defaultdict(float)
        self.statements = 0
        self._execute: Callable[..., Any] = DuckDBCursorWrapper.execute

    def install(self) -> None:
        clock = self

        def timed_execute(cursor: Any, sql: str, bindings: Any = None) -> Any:
            started = time.perf_counter()
            try:
                return clock._execute(cursor, sql, bindings)
            finally:
                clock.statements += 1
                clock.seconds_by_node[_node_of(sql)] += time.perf_counter() - started

        DuckDBCursorWrapper.execute = timed_execute  # type: ignore[method-assign]


def _node_of(sql: str) -> str:
    """The node a statement belongs to, from the query comment dbt puts on its node SQL."""
    start = sql.find(_NODE_MARKER, 0, 400)
    if start < 0:
        return "(transaction control and metadata)"
    start += len(_NODE_MARKER)
    return sql[start : sql.index('"', start)]


def main(argv: list[str] | None = None) -> int:
    lake_dir, duckdb_path = (Path(argument) for argument in (argv or sys.argv[1:]))
    clock = _StatementClock()
    clock.install()
    started = time.perf_counter()
    build_warehouse(lake_dir, duckdb_path, extra_args=["--threads", "1"])
    invoke_s = time.perf_counter() - started
    slowest = sorted(clock.seconds_by_node.items(), key=lambda item: -item[1])[:5]
    print(
        json.dumps(
            {
                "sql_s": sum(clock.seconds_by_node.values()),
                "statements": clock.statements,
                "build_in_process_s": invoke_s,
                "slowest_nodes": slowest,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
