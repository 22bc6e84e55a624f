"""Shared fixtures: the local exchange sandbox as a real subprocess on a free port."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_START_TIMEOUT_S = 20.0
SANDBOX_STOP_TIMEOUT_S = 10.0


class SandboxProcess:
    """``python -m extract sandbox --port 0 ...`` and the URL it printed."""

    def __init__(self, *extra_args: str) -> None:
        # stderr goes to a file: a pipe nobody drains could fill up and freeze the sandbox
        self._stderr = tempfile.TemporaryFile("w+")
        self.logged = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "extract", "sandbox", "--port", "0", *extra_args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = self._read_url()

    def _read_url(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], SANDBOX_START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("sandbox listening on "):
            self.stop()
            raise RuntimeError(f"sandbox did not start: stdout={line!r} stderr={self.logged!r}")
        return line.split()[-1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(SANDBOX_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(SANDBOX_STOP_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self._stderr.closed:
            self._stderr.seek(0)
            self.logged = self._stderr.read()[-4000:]  # the tail, for failure messages
            self._stderr.close()


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """One shared sandbox for tests that only read from it (no faults, no resets)."""
    sandbox = SandboxProcess()
    try:
        yield sandbox.url
    finally:
        sandbox.stop()


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., str]]:
    """Start a private sandbox with extra CLI args (for fault tests); stopped after the test."""
    started: list[SandboxProcess] = []

    def start(*extra_args: str) -> str:
        sandbox = SandboxProcess(*extra_args)
        started.append(sandbox)
        return sandbox.url

    yield start
    for sandbox in started:
        sandbox.stop()
