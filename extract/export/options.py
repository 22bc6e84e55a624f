"""Command-line options of ``python -m extract export``, validated into one frozen record.

Option names are the original ``staging_exporter.py``'s, which our users already know.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal, cast

from extract.collector.config import DEFAULT_WORKER_DB_TEMPLATE, ENV_PREFIX
from extract.export.state import default_state_key
from extract.timeutil import parse_utc

OutputFormat = Literal["parquet", "sqlite", "csv", "json"]
OUTPUT_FORMATS: Final = ("parquet", "sqlite", "csv", "json")
SourceUniquesMode = Literal["auto", "scan", "skip"]
SOURCE_UNIQUES_MODES: Final = ("auto", "scan", "skip")
DEFAULT_LAKE_DIR: Final = "data/lake"
DEFAULT_LEGACY_DIR: Final = "data/staging"
LAKE_DIR_ENV: Final = "DWH_LAKE_DIR"
STATE_FILE_NAME: Final = "staging_export_state.json"
DEFAULT_CHUNK_ROWS: Final = 250_000


def default_input_glob(environ: Mapping[str, str] | None = None) -> str:
    """The landing databases the collector writes: its worker database template, from
    ``EXTRACT_WORKER_DB_TEMPLATE`` as the collector reads it, with any worker id."""
    environ = os.environ if environ is None else environ
    template = environ.get(ENV_PREFIX + "WORKER_DB_TEMPLATE") or DEFAULT_WORKER_DB_TEMPLATE
    return template.replace("{worker_id}", "*")


@dataclass(frozen=True)
class Window:
    """The reception-time window, half-open: ``since <= t < until``; None means unbounded."""

    since: datetime | None
    until: datetime | None
    hours: float | None

    @property
    def since_text(self) -> str | None:
        """The bound as landing text (ISO-8601, milliseconds), which compares as time does."""
        return None if self.since is None else self.since.isoformat(timespec="milliseconds")

    @property
    def until_text(self) -> str | None:
        return None if self.until is None else self.until.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ExportOptions:
    input_glob: str
    output_dir: Path
    output_format: OutputFormat
    output_prefix: str
    window: Window
    exchanges: tuple[str, ...]
    assets: tuple[str, ...]
    symbols: tuple[str, ...]
    include_connection_events: bool
    incremental: bool
    update_state: bool
    state_path: Path
    state_key: str
    list_only: bool
    print_unique_exchanges: bool
    print_unique_assets: bool
    source_uniques_mode: SourceUniquesMode
    include_raw_json: bool
    chunk_rows: int
    workers: int
    progress: bool
    progress_interval_s: float | None  # None: 1 s on a terminal, 10 s in a log
    log_level: str

    @property
    def filtered(self) -> bool:
        return bool(self.exchanges or self.assets or self.symbols)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m extract export",
        description=(
            "Export landing SQLite databases to the hive-partitioned Parquet lake (default), or "
            "to the original single-file sqlite/csv/json staging exports."
        ),
    )
    window = parser.add_argument_group("window (reception time, UTC; default: every row)")
    window.add_argument("--hours", type=float, help="the last N hours before now (or --until)")
    window.add_argument("--since", help="ISO-8601 UTC start, inclusive (e.g. 2026-11-21T00:00Z)")
    window.add_argument("--until", help="ISO-8601 UTC end, exclusive; not with --incremental")
    parser.add_argument(
        "--input-glob",
        default=default_input_glob(),
        help=f"landing databases to read (default {default_input_glob()}: the collector's "
        "worker database template, $EXTRACT_WORKER_DB_TEMPLATE; the original's "
        "data/worker_*_crypto_ws_ticks.db files work too)",
    )
    parser.add_argument(
        "--output-dir",
        help=f"lake root (default ${LAKE_DIR_ENV} or {DEFAULT_LAKE_DIR}); for sqlite/csv/json "
        f"the directory of the export files (default {DEFAULT_LEGACY_DIR})",
    )
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, default="parquet")
    parser.add_argument(
        "--output-prefix", default="staging_export", help="file name prefix for sqlite/csv/json"
    )
    parser.add_argument("--exchanges", help="comma-separated exchange ids, e.g. binance,kraken")
    parser.add_argument("--assets", help="comma-separated base assets, e.g. BTC,ETH")
    parser.add_argument("--symbols", help="comma-separated symbols, e.g. BTC/USDT,ETH/USDT")
    parser.add_argument("--skip-connection-events", action="store_true")
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="export only rows added since the last run with the same state key",
    )
    parser.add_argument(
        "--update-state",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the new watermarks to the state (default: with --incremental). "
        "--no-update-state re-exports the same rows next time; --update-state without "
        "--incremental seeds the watermarks for later incremental runs",
    )
    parser.add_argument(
        "--state-path", help=f"watermark state file (default <output-dir>/_state/{STATE_FILE_NAME})"
    )
    parser.add_argument(
        "--state-key", help="state profile name (default: derived from input glob and filters)"
    )
    parser.add_argument(
        "--list-only", action="store_true", help="print unique exchanges and assets, then exit"
    )
    parser.add_argument(
        "--print-unique-exchanges",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="after an export, print the unique exchanges of the source window",
    )
    parser.add_argument(
        "--print-unique-assets",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="after an export, print the unique base assets of the source window",
    )
    parser.add_argument(
        "--source-uniques-mode",
        choices=SOURCE_UNIQUES_MODES,
        default="auto",
        help="the source window's uniques (metadata uniques.source, --print-unique-*): auto = "
        "scan the sources only when filters narrowed the export, else the exported rows' "
        "(default); scan = always scan the whole window; skip = never scan (null when filtered)",
    )
    parser.add_argument("--include-raw-json", action="store_true", help="add raw_json to the lake")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        help=f"landing ids per slice, the unit of parallel work and of a file per partition "
        f"(default {DEFAULT_CHUNK_ROWS})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker threads exporting slices in parallel (default: CPU count)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show progress on stderr: a bar on a terminal, else an event=export_progress log "
        "line per interval (default on; runs shorter than one interval show none)",
    )
    parser.add_argument(
        "--progress-interval-seconds",
        type=float,
        help="seconds between progress updates (default 1 on a terminal, 10 in a log)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    return parser


def _csv_values(raw: str | None, *, upper: bool) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = (item.strip() for item in raw.split(","))
    normalized = (value.upper() if upper else value.lower() for value in values if value)
    return tuple(dict.fromkeys(normalized))


def _utc(parser: argparse.ArgumentParser, option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_utc(text)
    except ValueError:
        parser.error(f"{option} {text!r} is not an ISO-8601 time (e.g. 2026-11-21T00:00:00Z)")


def _window(parser: argparse.ArgumentParser, args: argparse.Namespace, now: datetime) -> Window:
    since = _utc(parser, "--since", args.since)
    until = _utc(parser, "--until", args.until)
    if args.hours is not None:
        if args.hours <= 0:
            parser.error("--hours must be > 0")
        if since is not None:
            parser.error("give --hours or --since, not both")
        end = until or now
        return Window(since=end - timedelta(hours=args.hours), until=until, hours=args.hours)
    if since is not None and until is not None and since >= until:
        parser.error("--since must be before --until")
    return Window(since=since, until=until, hours=None)


def parse_options(argv: list[str], now: datetime) -> ExportOptions:
    """Parse and validate; a bad option exits with status 2 and a one-line message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    window = _window(parser, args, now)
    if args.incremental and window.until is not None:
        parser.error(
            "--until cannot be combined with --incremental: an incremental run exports every "
            "row committed since the last run"
        )
    if args.update_state and window.until is not None:
        parser.error(
            "--until cannot be combined with --update-state: the watermarks would pass rows "
            "received after --until that were not exported"
        )
    if args.chunk_size <= 0:
        parser.error("--chunk-size must be > 0")
    if args.workers <= 0:
        parser.error("--workers must be > 0")
    if args.progress_interval_seconds is not None and args.progress_interval_seconds <= 0:
        parser.error("--progress-interval-seconds must be > 0")
    output_format = cast(OutputFormat, args.output_format)
    if args.include_raw_json and output_format != "parquet":
        parser.error(
            "--include-raw-json applies to the parquet lake (legacy formats keep raw_json)"
        )
    default_dir = (
        os.environ.get(LAKE_DIR_ENV) or DEFAULT_LAKE_DIR
        if output_format == "parquet"
        else DEFAULT_LEGACY_DIR
    )
    output_dir = Path(args.output_dir or default_dir)
    exchanges = _csv_values(args.exchanges, upper=False)
    assets = _csv_values(args.assets, upper=True)
    symbols = _csv_values(args.symbols, upper=True)
    state_key = (args.state_key or "").strip() or default_state_key(
        args.input_glob, exchanges, assets, symbols
    )
    return ExportOptions(
        input_glob=args.input_glob,
        output_dir=output_dir,
        output_format=output_format,
        output_prefix=args.output_prefix,
        window=window,
        exchanges=exchanges,
        assets=assets,
        symbols=symbols,
        include_connection_events=not args.skip_connection_events,
        incremental=args.incremental,
        update_state=args.incremental if args.update_state is None else args.update_state,
        state_path=Path(args.state_path or output_dir / "_state" / STATE_FILE_NAME),
        state_key=state_key,
        list_only=args.list_only,
        print_unique_exchanges=args.print_unique_exchanges,
        print_unique_assets=args.print_unique_assets,
        source_uniques_mode=cast(SourceUniquesMode, args.source_uniques_mode),
        include_raw_json=args.include_raw_json,
        chunk_rows=args.chunk_size,
        workers=args.workers,
        progress=args.progress,
        progress_interval_s=args.progress_interval_seconds,
        log_level=args.log_level,
    )
