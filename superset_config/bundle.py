"""Zip the dashboards-as-code folder into the export bundle ``superset import-dashboards`` reads.

The YAML in ``superset_config/bundle/`` is the source of truth. The only thing filled in here is
the warehouse URI, because the serving file's path differs per machine.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from superset_config.settings import BUNDLE_DIR

URI_PLACEHOLDER = "__DWH_SERVING_URI__"
BUNDLE_ROOT = "crypto_warehouse_dashboards"


def serving_uri(serving_path: Path) -> str:
    """Read-only duckdb-engine URI of the serving file (Superset also forces read-only)."""
    return f"duckdb:///{serving_path.resolve()}?access_mode=read_only"


def build_bundle(target: Path, serving_path: Path, source: Path = BUNDLE_DIR) -> Path:
    """Write the zip to ``target`` with the database URI pointing at ``serving_path``."""
    files = sorted(path for path in source.rglob("*.yaml") if path.is_file())
    if not (source / "metadata.yaml").exists():
        raise FileNotFoundError(f"{source} has no metadata.yaml: not a dashboard bundle")
    uri = serving_uri(serving_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            text = path.read_text(encoding="utf-8").replace(URI_PLACEHOLDER, uri)
            archive.writestr(f"{BUNDLE_ROOT}/{path.relative_to(source).as_posix()}", text)
    return target
