"""Whether dbt's last invocation succeeded, read from its ``run_results.json``.

Publishing serves a build to every dashboard user, so it must never serve one whose last
``dbt build`` failed part-way (stale marts beside fresh ones). dbt writes ``run_results.json``
into its target directory after every invocation, one result per node with its status.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# Commands whose results say whether the warehouse was built (docs generate also writes the file).
BUILD_COMMANDS = frozenset({"build", "run", "seed", "test", "snapshot"})


class BuildNotSucceeded(RuntimeError):
    """dbt's last build failed, or there is no record of one."""


@dataclass(frozen=True)
class BuildRecord:
    command: str
    generated_at: str
    node_count: int
    warned: int


def default_run_results() -> Path:
    """dbt's own default: ``$DBT_TARGET_PATH`` or the project's ``target`` directory."""
    target = os.environ.get("DBT_TARGET_PATH", str(REPO_ROOT / "dbt_project" / "target"))
    return Path(target) / "run_results.json"


def last_build(run_results: Path) -> BuildRecord:
    """The last dbt build's record; raises BuildNotSucceeded naming the failed nodes."""
    try:
        document = json.loads(run_results.read_text(encoding="utf-8"))
        command = str(document["args"]["which"])
        results = list(document["results"])
        generated_at = str(document["metadata"]["generated_at"])
    except FileNotFoundError as error:
        raise BuildNotSucceeded(
            f"no dbt run results at {run_results}: run `make build` first"
        ) from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BuildNotSucceeded(f"cannot read dbt run results {run_results}: {error!r}") from error
    if command not in BUILD_COMMANDS:
        raise BuildNotSucceeded(
            f"the last dbt command ({command}, {generated_at}) built nothing: run `make build`"
        )
    failed = [result for result in results if result.get("status") in FAILED_STATUSES]
    skipped = sum(result.get("status") == "skipped" for result in results)
    if failed:
        names = ", ".join(
            f"{result.get('unique_id')} ({result.get('status')})" for result in failed[:10]
        )
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        raise BuildNotSucceeded(
            f"the last dbt {command} ({generated_at}) failed: {names}{more}; {skipped} nodes "
            "skipped. Fix it and build again; the dashboards keep the previous build."
        )
    warned = sum(result.get("status") == "warn" for result in results)
    return BuildRecord(command, generated_at, len(results), warned)
