"""Whether the last dbt build succeeded, read from the ``run_results.json`` dbt wrote for it.

dbt rewrites ``<target-path>/run_results.json`` at the end of every command (schema v6 here:
``args.which`` names the command, ``results[]`` one entry per node with its ``status``). A
warehouse may be published only when that command was a ``build`` or ``run`` and dbt itself
would call it a success: no node in ``error``, ``fail``, ``runtime error`` or
``partial success``, and none ``skipped`` (in a build a node is skipped because a node it
depends on failed, or after a failure with ``--fail-fast``). ``warn`` never blocks: monitored
checks warn by design (docs/kpi_catalog.md, data-quality policy).

A dbt killed outright (SIGKILL, out of memory) writes no run_results.json, so the file left
behind describes the run before it; ``python -m tools.refresh`` therefore removes the file before
it starts dbt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR: Final = REPO_ROOT / "dbt_project"
TARGET_PATH_ENV: Final = "DBT_TARGET_PATH"
RUN_RESULTS_FILE: Final = "run_results.json"
PUBLISHABLE_COMMANDS: Final = frozenset({"build", "run"})
FAILED_STATUSES: Final = frozenset({"error", "fail", "runtime error", "partial success"})
SKIPPED_STATUS: Final = "skipped"
WARN_STATUS: Final = "warn"
_LISTED_SKIPS: Final = 5


class BuildNotPublishable(Exception):
    """The last dbt command was not a successful build; the message says why and what to do."""


@dataclass(frozen=True)
class NodeOutcome:
    unique_id: str
    status: str
    message: str


@dataclass(frozen=True)
class BuildStatus:
    """A successful build or run, as its run_results.json records it."""

    command: str
    finished_utc: str
    nodes: int
    warned: tuple[NodeOutcome, ...]


def default_run_results_path() -> Path:
    """Where dbt writes run results: ``$DBT_TARGET_PATH`` (relative to the project directory,
    as dbt resolves it) or the project's ``target`` directory."""
    target = Path(os.environ.get(TARGET_PATH_ENV) or "target")
    return DBT_PROJECT_DIR / target / RUN_RESULTS_FILE


def _outcomes(results: object) -> list[NodeOutcome]:
    if not isinstance(results, list):
        raise ValueError("results is not a list")
    return [
        NodeOutcome(
            unique_id=str(result["unique_id"]),
            status=str(result["status"]),
            message=str(result.get("message") or "").strip(),
        )
        for result in results
    ]


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def check_last_build(run_results: Path) -> BuildStatus:
    """The last build's status when it can be published; raises BuildNotPublishable otherwise."""
    if not run_results.is_file():
        raise BuildNotPublishable(
            f"no dbt run results at {run_results}: the warehouse was never built there, or the "
            "last dbt build was killed before it finished; run `make build` first"
        )
    try:
        document = json.loads(run_results.read_text(encoding="utf-8"))
        command = str(document.get("args", {}).get("which", ""))
        finished = str(document.get("metadata", {}).get("generated_at", "?"))
        outcomes = _outcomes(document["results"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BuildNotPublishable(f"cannot read dbt run results {run_results}: {error}") from error
    if command not in PUBLISHABLE_COMMANDS:
        raise BuildNotPublishable(
            f"the last dbt command ({finished}) was `dbt {command or '?'}`, not a build: "
            "run `make build` before publishing"
        )
    failed = [node for node in outcomes if node.status in FAILED_STATUSES]
    skipped = [
        node
        for node in outcomes
        if node.status == SKIPPED_STATUS and not node.unique_id.startswith("exposure.")
    ]
    if failed or skipped:
        lines = [f"the last dbt {command} ({finished}) did not succeed:"]
        lines += [
            f"  {node.unique_id}: {node.status}: {_first_line(node.message)}".rstrip(": ")
            for node in failed
        ]
        if skipped:
            listed = ", ".join(node.unique_id for node in skipped[:_LISTED_SKIPS])
            more = (
                f" and {len(skipped) - _LISTED_SKIPS} more" if len(skipped) > _LISTED_SKIPS else ""
            )
            lines.append(f"  skipped because of a failure: {len(skipped)} nodes ({listed}{more})")
        lines.append("fix the failure and run `make build` again; the serving file is unchanged")
        raise BuildNotPublishable("\n".join(lines))
    return BuildStatus(
        command=command,
        finished_utc=finished,
        nodes=len(outcomes),
        warned=tuple(node for node in outcomes if node.status == WARN_STATUS),
    )
