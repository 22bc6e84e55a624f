"""Run several ``superset`` CLI commands in one interpreter (inside ``.venv-superset``).

Importing Superset costs several seconds per process; ``db upgrade``, ``fab create-admin``,
``init`` and ``import-dashboards`` in one process pay it once. Usage:

    .venv-superset/bin/python superset_config/cli_batch.py '[["db", "upgrade"], ["init"]]'

Each command runs as Superset's own click CLI would run it; the batch stops at the first
failure with a non-zero exit. One command is ours: ``import-bundle``, because Superset's
``import-dashboards`` overwrites the dashboards but keeps any chart or dataset that already exists
(its importer passes ``overwrite=False`` for them), so an edited chart would never reach a
Superset that imported the bundle before.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from zipfile import ZipFile

import click
import yaml
from flask.cli import with_appcontext
from superset.cli.main import superset

# The order matters: charts refer to datasets, dashboards to charts (all by UUID).
BUNDLE_PARTS = (
    ("SqlaTable", ("databases/", "datasets/")),
    ("Slice", ("databases/", "datasets/", "charts/")),
    ("Dashboard", ("databases/", "datasets/", "charts/", "dashboards/")),
)


def bundle_part(
    contents: dict[str, str], model_type: str, folders: tuple[str, ...]
) -> dict[str, str]:
    """The files of ``folders`` with a metadata.yaml saying they are of ``model_type``."""
    metadata: dict[str, Any] = yaml.safe_load(contents["metadata.yaml"])
    part = {name: text for name, text in contents.items() if name.startswith(folders)}
    part["metadata.yaml"] = yaml.safe_dump({**metadata, "type": model_type})
    return part


@click.command("import-bundle")
@with_appcontext
@click.option("--path", "-p", required=True, help="the bundle zip (superset_config/bundle.py)")
@click.option("--username", "-u", required=True, help="the owner of what is imported")
def import_bundle(path: str, username: str) -> None:
    """Import datasets, charts and dashboards from the bundle, overwriting each by UUID."""
    from superset import security_manager
    from superset.commands.chart.importers.dispatcher import ImportChartsCommand
    from superset.commands.dashboard.importers.dispatcher import ImportDashboardsCommand
    from superset.commands.dataset.importers.dispatcher import ImportDatasetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle
    from superset.utils.core import override_user

    commands = {
        "SqlaTable": ImportDatasetsCommand,
        "Slice": ImportChartsCommand,
        "Dashboard": ImportDashboardsCommand,
    }
    with ZipFile(path) as bundle:
        contents = get_contents_from_bundle(bundle)
    with override_user(security_manager.find_user(username=username)):
        for model_type, folders in BUNDLE_PARTS:
            part = bundle_part(contents, model_type, folders)
            commands[model_type](part, overwrite=True).run()
            print(f"[cli_batch] imported {model_type}: {len(part) - 1} files", flush=True)


superset.add_command(import_bundle)


def main(argv: list[str]) -> int:
    commands = json.loads(argv[0])
    for command in commands:
        print(f"[cli_batch] superset {' '.join(command[:2])}", flush=True)
        try:
            superset.main(args=command, prog_name="superset", standalone_mode=False)
        except SystemExit as exit_:
            if exit_.code:
                print(f"[cli_batch] superset {' '.join(command[:2])} failed", flush=True)
                return int(exit_.code) if isinstance(exit_.code, int) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
