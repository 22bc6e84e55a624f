"""tools.publish: the serving file is replaced atomically and only with a consistent build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tools.publish import PublishError, publish

HOLD_WRITE_LOCK = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
    "sys.stdin.read()"
)


def write_build(path: Path, version: int) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists marts")
        connection.execute(f"create or replace table marts.version as select {version} as v")


def served_version(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        row = connection.execute("select v from marts.version").fetchone()
    assert row is not None
    return int(row[0])


def test_publish_serves_a_copy_of_the_build_including_uncheckpointed_writes(
    tmp_path: Path,
) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serve" / "serving.duckdb"
    write_build(build, 1)
    with duckdb.connect(str(build)) as connection:  # left in the WAL until a checkpoint
        connection.execute("set checkpoint_threshold = '1GB'")
        connection.execute("create or replace table marts.version as select 2 as v")
    result = publish(build, serving)
    assert served_version(serving) == 2
    assert result.size_bytes == serving.stat().st_size
    assert not list(serving.parent.glob("*.publishing")), "temporary copy left behind"


def test_a_reader_of_the_old_file_keeps_its_data_and_the_next_one_sees_the_new(
    tmp_path: Path,
) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    write_build(build, 1)
    publish(build, serving)
    old_reader = duckdb.connect(str(serving), read_only=True)
    try:
        write_build(build, 2)
        publish(build, serving)
        assert old_reader.execute("select v from marts.version").fetchone() == (1,)
    finally:
        old_reader.close()
    assert served_version(serving) == 2


def test_publish_refuses_while_a_writer_holds_the_build_and_keeps_serving(
    tmp_path: Path,
) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    write_build(build, 1)
    publish(build, serving)
    # DuckDB's file lock is per process: hold it from a child process, as dbt would.
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(build)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdin is not None
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "locked"
        with pytest.raises(PublishError, match="is a build running"):
            publish(build, serving)
        writer.stdin.close()
        writer.wait(timeout=30)
    assert served_version(serving) == 1
    assert not list(tmp_path.glob("*.publishing"))


def test_publish_refuses_to_serve_the_build_file_itself(tmp_path: Path) -> None:
    build = tmp_path / "build.duckdb"
    write_build(build, 1)
    with pytest.raises(PublishError, match="must be different files"):
        publish(build, build)
