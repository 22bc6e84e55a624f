"""The sandbox as a child process: ``python -m extract sandbox --port 0 ...`` and its URL.

Used by the tests, the demo, the soak run and the benchmarks, so every caller starts it the same
way: on a free port, stderr in a file (a pipe nobody drains could freeze the sandbox), and every
wait bounded.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile

SANDBOX_START_TIMEOUT_S = 20.0
SANDBOX_STOP_TIMEOUT_S = 10.0


class SandboxProcess:
    """``python -m extract sandbox --port PORT ...`` (0: a free port) and the URL it printed."""

    def __init__(self, *extra_args: str, port: int = 0) -> None:
        # stderr goes to a file: a pipe nobody drains could fill up and freeze the sandbox
        self._stderr = tempfile.TemporaryFile("w+")
        self.logged = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "extract", "sandbox", "--port", str(port), *extra_args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = self._read_url()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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
