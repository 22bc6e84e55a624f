"""``python -m extract export``: parse options, run the export or the listing, print a summary.

Exit status: 0 all sources exported, 1 some source failed (the others were exported; the
summary names the failed files), 2 bad options or nothing to read.
"""

from __future__ import annotations

import logging
import sys
import time

from extract.export.export_run import NoSourcesError, RunResult, run_export
from extract.export.listing import list_uniques
from extract.export.options import ExportOptions, parse_options
from extract.export.sources import discover_sources
from extract.export.state import StateError
from extract.timeutil import utc_now


def _print_list(title: str, values: tuple[str, ...]) -> None:
    print(f"{title} ({len(values)}):")
    print("  " + (", ".join(values) if values else "-"))


def _list_only(options: ExportOptions) -> int:
    sources = discover_sources(options.input_glob)
    if not sources:
        print(
            f"error: no landing databases match --input-glob {options.input_glob!r}",
            file=sys.stderr,
        )
        return 2
    uniques = list_uniques(sources, options)
    print(f"Worker DB files used: {len(sources)}")
    _print_list("Unique exchanges in source window", uniques.exchanges)
    _print_list("Unique assets in source window", uniques.assets)
    for failure in uniques.failures:
        print(f"error: {failure}", file=sys.stderr)
    print("List-only mode enabled. No export files were created.")
    return 1 if uniques.failures else 0


def _print_uniques(result: RunResult, options: ExportOptions) -> None:
    """--print-unique-exchanges / --print-unique-assets after an export."""
    uniques, where = result.source_uniques, "source window"
    if uniques is None:  # filtered, and --source-uniques-mode skip
        uniques, where = result.exported_uniques, "exported rows"
    if options.print_unique_exchanges:
        _print_list(f"Unique exchanges in {where}", uniques.exchanges)
    if options.print_unique_assets:
        _print_list(f"Unique assets in {where}", uniques.assets)


def _summary(result: RunResult, seconds: float) -> str:
    ticks = result.rows("market_ticks")
    issues = result.issues()
    parts = [
        f"export run_id={result.run_id}",
        f"market_ticks={ticks}",
        f"connection_events={result.rows('connection_events')}",
        f"files={len(result.output_files)}",
        f"sources={len(result.outcomes)}",
        f"failed={len(result.failures)}",
        f"unparseable_times={issues.unparseable_times}",
        f"implausible_times={issues.implausible_times}",
        f"repaired_text={issues.repaired_text}",
        f"seconds={seconds:.2f}",
        f"ticks_per_s={ticks / seconds:.0f}" if seconds > 0 else "ticks_per_s=0",
    ]
    if result.metadata_path is not None:
        parts.append(f"metadata={result.metadata_path}")
    if not result.output_files and not result.failures:
        parts.append("note=nothing new to export")
    return " ".join(parts)


def main(argv: list[str]) -> int:
    started = utc_now()
    try:
        options = parse_options(argv, now=started)
    except SystemExit as exit_request:  # argparse: --help (0) or a bad option (2)
        return int(exit_request.code or 0)
    logging.basicConfig(
        level=options.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if options.list_only:
        return _list_only(options)
    clock = time.perf_counter()
    try:
        result = run_export(options, started)
    except (NoSourcesError, StateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the output side: disk full, permissions; the next run cleans up
        print(f"error: cannot write the export: {error}", file=sys.stderr)
        return 1
    for failure in result.failures:
        print(f"error: {failure.error}", file=sys.stderr)
    _print_uniques(result, options)
    print(_summary(result, time.perf_counter() - clock))
    return 1 if result.failures else 0
