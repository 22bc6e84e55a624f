"""One writer per landing database, by construction.

A worker holds an exclusive ``flock`` on the database's sidecar file ``<db>.lock`` for its whole
life, and writes its pid and its supervisor's pid into it. The kernel releases the lock when the
holder exits, however it exits (SIGKILL included), so a lock that cannot be taken means a live
process holds it. A second worker on the same file refuses to start; a supervisor about to start
a worker first checks the lock and ends an orphan that holds it
(:mod:`extract.collector.recovery`).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

LOCK_SUFFIX = ".lock"


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + LOCK_SUFFIX)


class LandingLock:
    """The exclusive lock on one landing database; :meth:`try_acquire` never blocks."""

    def __init__(self, db_path: Path) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def try_acquire(self, *, pid: int, supervisor_pid: int) -> bool:
        """Take the lock and record the holder; False if another process holds it. Raises
        OSError when the lock file cannot be created (e.g. the landing directory is missing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        holder = json.dumps({"pid": pid, "supervisor_pid": supervisor_pid}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder, 0)
        self._fd = fd
        return True

    def holder(self) -> dict[str, int]:
        """The pids the current (or last) holder recorded; empty when unreadable."""
        try:
            recorded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(recorded, dict):
            return {}
        return {key: value for key, value in recorded.items() if isinstance(value, int)}

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None
