"""Reuse an initialised Superset metadata DB across test sessions.

``superset db upgrade`` + ``superset init`` take a minute on this machine and give the same
result every time for one Superset version and one superset_config.py. The first session runs
them for real and keeps a copy of the resulting SQLite file under ``data/cache/superset/``
(named by a hash of the Superset version and our config); later sessions start from a copy and
only add their admin user and import the dashboards. Nothing secret is in the cached file: no
users, no databases, only schema, roles and permissions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from superset_config.server import INITIALISE_COMMANDS, finish_commands, start_commands
from superset_config.settings import SUPERSET_CONFIG_FILE, SupersetSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "data" / "cache" / "superset"
METADATA_FILE = "superset.db"


def cache_key(settings: SupersetSettings) -> str:
    site_packages = settings.superset_venv / "lib" / "python3.11" / "site-packages"
    versions = sorted(path.name for path in site_packages.glob("apache_superset-*.dist-info"))
    digest = hashlib.sha256()
    digest.update("\n".join(versions).encode())
    digest.update(SUPERSET_CONFIG_FILE.read_bytes())
    return digest.hexdigest()[:16]


def cached_metadata(settings: SupersetSettings) -> Path:
    return CACHE_DIR / f"metadata-{cache_key(settings)}.db"


def restore_initialised_metadata(settings: SupersetSettings) -> bool:
    """Copy the cached initialised metadata DB into the home; False when there is none."""
    cached = cached_metadata(settings)
    if not cached.exists():
        return False
    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, settings.home / METADATA_FILE)
    return True


def initialise_and_cache(settings: SupersetSettings) -> None:
    """Run ``db upgrade`` + ``init`` in the home, then keep a copy of the result."""
    finish_commands(settings, start_commands(settings, INITIALISE_COMMANDS))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=CACHE_DIR, suffix=".partial")
    os.close(descriptor)
    shutil.copyfile(settings.home / METADATA_FILE, temporary)
    os.replace(temporary, cached_metadata(settings))  # concurrent sessions: last one wins
