"""Other processes, followed by pid: is one alive, and wait until one exits.

Waiting uses a pidfd, which becomes readable when the process exits whoever its parent is (the
supervisor is not the parent of the workers it supervises: the forkserver is), and cannot be
confused by a reused pid.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid``, or None if it has exited already (or never existed)."""
    if pid <= 0:
        return None
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


async def exited(pidfd: int | None) -> None:
    """Return once the process of ``pidfd`` has exited (at once for None)."""
    if pidfd is None:
        return
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def on_exit() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(pidfd, on_exit)
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
