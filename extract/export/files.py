"""Durable, atomic file replacement: write a hidden temporary file, sync it, rename it."""

from __future__ import annotations

import json
import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_json_atomic(path: Path, payload: object) -> None:
    """Replace ``path`` with the JSON document so a reader sees the old or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    fsync_path(temp)
    os.replace(temp, path)
    fsync_path(path.parent)
