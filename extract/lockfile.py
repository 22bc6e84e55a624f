"""An exclusive, non-blocking lock on a file: two runs of one job never overlap.

``fcntl.flock`` on a lock file that is never deleted: the kernel releases the lock when the
holder exits, however it exits (SIGKILL included), so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockBusy(Exception):
    """Another process holds the lock."""

    def __init__(self, lock_path: Path) -> None:
        super().__init__(f"{lock_path} is held by another process")
        self.lock_path = lock_path


@contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold ``lock_path`` (created if needed) for the block; raise LockBusy if it is held."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise LockBusy(lock_path) from error
        yield
    finally:
        os.close(descriptor)
