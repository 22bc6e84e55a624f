"""Run several ``superset`` CLI commands in one interpreter (inside ``.venv-superset``).

Importing Superset costs several seconds per process; ``db upgrade``, ``fab create-admin``,
``init`` and ``import-dashboards`` in one process pay it once. Usage:

    .venv-superset/bin/python superset_config/cli_batch.py '[["db", "upgrade"], ["init"]]'

Each command runs as Superset's own click CLI would run it; the batch stops at the first
failure with a non-zero exit.
"""

from __future__ import annotations

import json
import sys

from superset.cli.main import superset


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
