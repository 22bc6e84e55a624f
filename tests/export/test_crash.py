"""An export killed with SIGKILL midway leaves no partial file visible and re-runs exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from export.lake_checks import data_files, lake_keys, run_export, source_keys
from export.landing_factory import make_landing

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRST_FILE_TIMEOUT_S = 60.0


@pytest.mark.slow
@pytest.mark.faults
def test_export_killed_with_sigkill_midway_reruns_to_exactly_once(
    landing_dir: Path, lake_dir: Path
) -> None:
    landings = [
        make_landing(landing_dir / f"worker_{index}.sqlite", ticks=60_000, seed=index)
        for index in range(2)
    ]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "extract",
            "export",
            "--input-glob",
            str(landing_dir / "worker_*.sqlite"),
            "--output-dir",
            str(lake_dir),
            "--incremental",
            "--include-raw-json",
            "--chunk-size",
            "4000",
            "--workers",
            "1",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + FIRST_FILE_TIMEOUT_S
        while not data_files(lake_dir) and time.monotonic() < deadline:
            assert process.poll() is None, "the export finished before it could be killed"
            time.sleep(0.005)
        assert data_files(lake_dir), "no file appeared in time"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    state = json.loads((lake_dir / "_state" / "staging_export_state.json").read_text())
    assert len(state["pending_runs"]) == 1, "the run was killed before it committed"
    for visible in data_files(lake_dir):  # whatever a reader's glob sees is a whole file
        assert pq.read_metadata(visible).num_rows > 0

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    paths = [landing.path for landing in landings]
    assert lake_keys(lake_dir, "market_ticks") == source_keys(paths, "market_ticks")
    assert lake_keys(lake_dir, "connection_events") == source_keys(paths, "connection_events")
    assert not list(lake_dir.rglob("*.tmp"))
    state = json.loads((lake_dir / "_state" / "staging_export_state.json").read_text())
    assert state["pending_runs"] == {}
