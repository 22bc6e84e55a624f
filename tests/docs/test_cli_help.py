"""Every command the README and docs name answers ``--help`` with its usage (argparse formats each
option's help text only then, so a stray % in one crashed `python -m forecasting --help`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMANDS = (
    "extract",
    "extract run",
    "extract export",
    "extract sandbox",
    "forecasting",
    "tools.refresh",
    "tools.demo",
    "tools.publish",
    "tools.screenshots",
    "tools.diagrams",
    "superset_config.manage",
    "bench",
    "bench.seed_scale",
)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_prints_the_usage(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command.split(), "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: "), result.stdout
    assert "Traceback" not in result.stderr
