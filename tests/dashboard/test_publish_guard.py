"""`python -m tools.publish` publishes only after a successful dbt build.

Each test runs real dbt (in-process, dbt-duckdb) on a tiny project written here, so the
run_results.json the guard reads is the one dbt really writes for a passing build, a failing
model, a failing test or another command.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.warehouse import dbt_target_dir, run_dbt
from tools.build_status import default_run_results_path
from tools.publish import main

PROFILE = """
tiny:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('DWH_DUCKDB_PATH') }}"
"""
PROJECT = """
name: tiny
version: "1.0"
config-version: 2
profile: tiny
flags:
  send_anonymous_usage_stats: false
"""
GOOD_MODEL = "select {{ var('version', 1) }} as version"
# accepted_values warns (monitored check); not_null errors when it fails.
SCHEMA = """
models:
  - name: good
    columns:
      - name: version
        data_tests:
          - accepted_values:
              arguments: {values: [-1]}
              config: {severity: warn}
          - not_null
"""


def write_project(root: Path, models: dict[str, str]) -> Path:
    project = root / "tiny_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(PROJECT)
    (project / "profiles.yml").write_text(PROFILE)
    (project / "models" / "schema.yml").write_text(SCHEMA)
    for name, sql in models.items():
        (project / "models" / f"{name}.sql").write_text(sql)
    return project


def publish_cli(build: Path, serving: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the real CLI against the run results of the last dbt command on ``build``."""
    run_results = dbt_target_dir(build) / "run_results.json"
    code = main(
        [
            "--build-path",
            str(build),
            "--serving-path",
            str(serving),
            "--run-results",
            str(run_results),
        ]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def served_version(serving: Path) -> int:
    with duckdb.connect(str(serving), read_only=True) as connection:
        row = connection.execute("select version from good").fetchone()
    assert row is not None
    return int(row[0])


def test_a_successful_build_with_warnings_is_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, {"good": GOOD_MODEL})
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    run = run_dbt(["build"], tmp_path, build, project_dir=project)
    assert run.success
    assert [node.status for node in run.nodes].count("warn") == 1

    code, output = publish_cli(build, serving, capsys)

    assert code == 0, output
    assert "last dbt build finished" in output
    assert "3 nodes, 1 warnings" in output
    assert served_version(serving) == 1


def test_a_failed_model_blocks_publishing_names_it_and_its_skipped_children(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, {"good": GOOD_MODEL})
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    assert run_dbt(["build"], tmp_path, build, project_dir=project).success
    assert publish_cli(build, serving, capsys)[0] == 0
    (project / "models" / "broken.sql").write_text("select * from no_such_table")
    (project / "models" / "after_broken.sql").write_text("select * from {{ ref('broken') }}")
    run = run_dbt(["build"], tmp_path, build, {"version": 2}, project_dir=project)
    assert not run.success

    code, output = publish_cli(build, serving, capsys)

    assert code == 1
    assert "refusing to publish" in output
    assert "model.tiny.broken: error: Runtime Error in model broken" in output
    assert "skipped because of a failure: 1 nodes (model.tiny.after_broken)" in output
    assert "model.tiny.good" not in output  # it succeeded
    assert served_version(serving) == 1  # the serving file was not touched


def test_a_failing_data_test_blocks_publishing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, {"good": "select null::integer as version"})
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    assert not run_dbt(["build"], tmp_path, build, project_dir=project).success

    code, output = publish_cli(build, serving, capsys)

    assert code == 1
    assert "test.tiny.not_null_good_version" in output
    assert ": fail: " in output
    assert not serving.exists()


@pytest.mark.parametrize("command", [["test"], ["compile"]])
def test_a_successful_command_that_is_not_a_build_blocks_publishing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    project = write_project(tmp_path, {"good": GOOD_MODEL})
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    assert run_dbt(["build"], tmp_path, build, project_dir=project).success
    assert run_dbt(command, tmp_path, build, project_dir=project).success
    run_results = json.loads((dbt_target_dir(build) / "run_results.json").read_text())
    assert run_results["args"]["which"] == command[0]

    code, output = publish_cli(build, serving, capsys)

    assert code == 1
    assert f"was `dbt {command[0]}`, not a build" in output
    assert not serving.exists()


def test_missing_run_results_block_publishing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    duckdb.connect(str(build)).close()

    code, output = publish_cli(build, serving, capsys)

    assert code == 1
    assert "no dbt run results at" in output
    assert not serving.exists()


def test_the_default_run_results_follow_dbt_target_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert default_run_results_path().parts[-3:] == ("dbt_project", "target", "run_results.json")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "elsewhere"))
    assert default_run_results_path() == tmp_path / "elsewhere" / "run_results.json"
    monkeypatch.setenv("DBT_TARGET_PATH", "relative_target")
    assert default_run_results_path().parts[-3:] == (
        "dbt_project",
        "relative_target",
        "run_results.json",
    )


def test_a_missing_build_file_after_a_good_build_is_reported_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, {"good": GOOD_MODEL})
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    assert run_dbt(["build"], tmp_path, build, project_dir=project).success
    build.unlink()

    code, output = publish_cli(build, serving, capsys)

    assert code == 1
    assert output.strip() == f"[publish] error: {build} does not exist: run `make build` first"
