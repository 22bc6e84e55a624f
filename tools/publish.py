"""`make publish`: atomically replace the warehouse file Superset reads with the newly built one.

dbt and forecasting write the build file (``DWH_DUCKDB_PATH``); Superset reads only the serving
file (``DWH_SERVING_PATH``). Publishing checkpoints the build file (so everything is in the main
file, none in the WAL), copies it next to the serving file and renames it over the serving file
with ``os.replace``. A query already running keeps reading the old file (its open descriptor
survives the rename); the next query opens the new one. No lock is ever shared with a writer.

Only a successful build is published: the command line first reads the run results of the last
dbt command (``tools/build_status.py``) and refuses, exit status 1 and the failed nodes named,
when it was not a ``dbt build``/``dbt run`` or any node failed or was skipped. Warnings pass.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tools.build_status import BuildNotPublishable, check_last_build, default_run_results_path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_PATH = REPO_ROOT / "data" / "warehouse" / "build.duckdb"
DEFAULT_SERVING_PATH = REPO_ROOT / "data" / "warehouse" / "serving.duckdb"
BUILD_PATH_ENV = "DWH_DUCKDB_PATH"
SERVING_PATH_ENV = "DWH_SERVING_PATH"


def build_path_from_env() -> Path:
    """The file dbt builds: ``$DWH_DUCKDB_PATH``, else ``data/warehouse/build.duckdb``."""
    return Path(os.environ.get(BUILD_PATH_ENV) or DEFAULT_BUILD_PATH)


def serving_path_from_env() -> Path:
    """The file Superset reads: ``$DWH_SERVING_PATH``, else ``data/warehouse/serving.duckdb``."""
    return Path(os.environ.get(SERVING_PATH_ENV) or DEFAULT_SERVING_PATH)


class PublishError(RuntimeError):
    """The build file cannot be published (missing, locked by a writer, or not DuckDB)."""


@dataclass(frozen=True)
class PublishResult:
    build_path: Path
    serving_path: Path
    size_bytes: int
    seconds: float


@contextmanager
def checkpointed(build_path: Path) -> Iterator[None]:
    """Hold the build file's write lock with its WAL folded into the main file.

    While the lock is held no writer can change the file, so a byte copy is consistent. Fails
    fast when a writer (a running ``dbt build``) holds the lock.
    """
    try:
        connection = duckdb.connect(str(build_path))
    except duckdb.IOException as error:
        raise PublishError(f"cannot open {build_path} (is a build running?): {error}") from error
    try:
        connection.execute("checkpoint")
        yield
    finally:
        connection.close()


def publish(build_path: Path, serving_path: Path) -> PublishResult:
    """Checkpoint ``build_path`` and atomically make a copy of it the ``serving_path``."""
    started = time.perf_counter()
    if not build_path.is_file():
        raise PublishError(f"{build_path} does not exist: run `make build` first")
    if build_path.resolve() == serving_path.resolve():
        raise PublishError("DWH_DUCKDB_PATH and DWH_SERVING_PATH must be different files")
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    # The copy lives in the serving folder so the final rename stays on one file system.
    descriptor, temporary_name = tempfile.mkstemp(
        prefix=f".{serving_path.name}.", suffix=".publishing", dir=serving_path.parent
    )
    os.close(descriptor)
    temporary = Path(temporary_name)
    try:
        with checkpointed(build_path):
            shutil.copyfile(build_path, temporary)
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, serving_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return PublishResult(
        build_path=build_path,
        serving_path=serving_path,
        size_bytes=serving_path.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.publish", description=__doc__)
    parser.add_argument(
        "--build-path",
        type=Path,
        default=build_path_from_env(),
        help="the file dbt builds (env DWH_DUCKDB_PATH)",
    )
    parser.add_argument(
        "--serving-path",
        type=Path,
        default=serving_path_from_env(),
        help="the file Superset reads (env DWH_SERVING_PATH)",
    )
    parser.add_argument(
        "--run-results",
        type=Path,
        default=default_run_results_path(),
        help="dbt's run_results.json of the last build (default: dbt_project/$DBT_TARGET_PATH, "
        "else dbt_project/target)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        build = check_last_build(args.run_results)
    except BuildNotPublishable as error:
        print(f"[publish] refusing to publish: {error}", file=sys.stderr)
        return 1
    try:
        result = publish(args.build_path, args.serving_path)
    except PublishError as error:
        print(f"[publish] error: {error}", file=sys.stderr)
        return 1
    print(
        f"[publish] last dbt {build.command} finished {build.finished_utc}: {build.nodes} nodes, "
        f"{len(build.warned)} warnings",
        flush=True,
    )
    print(
        f"[publish] {result.build_path} -> {result.serving_path} "
        f"({result.size_bytes / 1e6:.1f} MB in {result.seconds:.2f} s)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
