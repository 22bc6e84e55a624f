"""``python -m extract capabilities``: what each ccxt.pro exchange supports, as a table or CSV.

Read from ccxt's ``has`` flags (no network). ``collect_by`` is how ``python -m extract run``
would collect the exchange with default options (see :mod:`extract.collector.markets`).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any

import ccxt.pro

from extract.collector.config import CollectorConfig
from extract.collector.markets import choose_mode

FEATURES = ("watchTickers", "watchTicker", "fetchTickers", "fetchOHLCV")
COLUMNS = (
    "exchange",
    "watch_tickers",
    "watch_ticker",
    "fetch_tickers",
    "fetch_ohlcv",
    "collect_by",
)


def _flag(value: Any) -> str:
    if value is True:
        return "yes"
    if value == "emulated":
        return "emulated"
    return "no"


def capability_rows(exchange_ids: Sequence[str]) -> list[dict[str, str]]:
    defaults = CollectorConfig()
    rows = []
    for exchange_id in exchange_ids:
        has = getattr(ccxt.pro, exchange_id)().has
        rows.append(
            {
                "exchange": exchange_id,
                **{
                    column: _flag(has.get(feature))
                    for column, feature in zip(COLUMNS[1:5], FEATURES, strict=True)
                },
                "collect_by": choose_mode(has, defaults) or "excluded",
            }
        )
    return rows


def render_table(rows: Sequence[dict[str, str]]) -> str:
    widths = {column: max(len(column), *(len(row[column]) for row in rows)) for column in COLUMNS}
    lines = ["  ".join(column.ljust(widths[column]) for column in COLUMNS)]
    lines.append("  ".join("-" * widths[column] for column in COLUMNS))
    lines += ["  ".join(row[column].ljust(widths[column]) for column in COLUMNS) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m extract capabilities",
        description="List what each ccxt.pro exchange supports (from ccxt's has flags).",
    )
    parser.add_argument("--exchanges", default="", help="comma-separated ids (default: all)")
    parser.add_argument("--format", choices=("table", "csv"), default="table")
    args = parser.parse_args(list(argv))
    requested = [name.strip() for name in args.exchanges.split(",") if name.strip()]
    unknown = sorted(set(requested) - set(ccxt.pro.exchanges))
    if unknown:
        print(f"error: not ccxt.pro exchanges: {', '.join(unknown)}", file=sys.stderr)
        return 2
    rows = capability_rows(requested or sorted(ccxt.pro.exchanges))
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
