"""Superset configuration for the warehouse dashboards, read entirely from the environment.

Superset loads this file itself (``SUPERSET_CONFIG_PATH``) inside ``.venv-superset``, so it
imports only what that venv has. ``python -m superset_config.manage`` writes the environment.

Settings (environment variable -> meaning):
- ``SUPERSET_SECRET_KEY``: required, at least 32 characters, never Superset's default.
- ``SUPERSET_HOME``: Superset's data folder (read by Superset itself).
- ``SUPERSET_METADATA_DB_URI``: the metadata database (default SQLite in ``SUPERSET_HOME``).
- ``DWH_ALLOWED_DIRECTORIES``: ``os.pathsep``-separated folders DuckDB SQL may read besides the
  database file itself (default none).
- ``SUPERSET_LOG_LEVEL``: Python log level name (default ``INFO``).
- ``SUPERSET_ROW_LIMIT``: default row limit of a chart query (default 50000).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import duckdb_engine
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

SUPERSET_DEFAULT_SECRET_KEY = "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """A setting in the environment is missing or unsafe; Superset must not start."""


def _secret_key_from_env() -> str:
    key = os.environ.get("SUPERSET_SECRET_KEY", "")
    if not key:
        raise ConfigurationError(
            "SUPERSET_SECRET_KEY is not set: run `make dashboard` to generate one into "
            "superset_config/.env"
        )
    if key == SUPERSET_DEFAULT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SUPERSET_SECRET_KEY is Superset's default or shorter than {MIN_SECRET_KEY_LENGTH} "
            "characters: remove it to let `make dashboard` generate one, or set a random one"
        )
    return key


def _metadata_db_uri() -> str:
    explicit = os.environ.get("SUPERSET_METADATA_DB_URI")
    if explicit:
        return explicit
    home = os.environ.get("SUPERSET_HOME") or os.path.expanduser("~/.superset")
    return f"sqlite:///{os.path.join(home, 'superset.db')}?check_same_thread=false"


def _allowed_directories() -> list[str]:
    raw = os.environ.get("DWH_ALLOWED_DIRECTORIES", "")
    return [os.path.abspath(part) for part in raw.split(os.pathsep) if part]


def _duckdb_lockdown_statements(allowed_directories: list[str]) -> list[str]:
    """Per-connection settings that stop SQL from reaching any file but the database itself.

    Order matters: the time zone and the allow-list are set while changes are still possible,
    then external access is switched off, then the configuration is locked so SQL cannot undo
    any of them.
    """
    quoted = ", ".join("'" + path.replace("'", "''") + "'" for path in allowed_directories)
    return [
        "SET TimeZone = 'UTC'",
        f"SET allowed_directories = [{quoted}]",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]


_LOCKDOWN_STATEMENTS = _duckdb_lockdown_statements(_allowed_directories())


def _is_locked_down(dbapi_connection: Any) -> bool:
    row = dbapi_connection.execute(
        "select current_setting('lock_configuration'), current_setting('enable_external_access')"
    ).fetchone()
    return bool(row[0]) and not row[1]


# Serialises the lockdown of a new DuckDB instance among the threads of one Superset process.
_LOCKDOWN_MUTEX = threading.Lock()


def _lock_down_duckdb_connection(dbapi_connection: Any, _connection_record: Any) -> None:
    """Apply the lockdown to every new DuckDB connection, or refuse the connection.

    The settings are global to a DuckDB database instance, which concurrent connections of one
    process share: a connection opened while another one is alive finds them already applied
    and locked (only this listener locks them) and must not set them again. Two connections
    must not apply them at once either: the second would fail to set the allow-list once the
    first has switched external access off.
    """
    if not isinstance(dbapi_connection, duckdb_engine.ConnectionWrapper):
        return
    with _LOCKDOWN_MUTEX:
        if not _is_locked_down(dbapi_connection):
            for statement in _LOCKDOWN_STATEMENTS:
                dbapi_connection.execute(statement)
    if not _is_locked_down(dbapi_connection):
        raise ConfigurationError("DuckDB connection could not be locked down; refusing it")


event.listen(Engine, "connect", _lock_down_duckdb_connection)


def _force_read_only(
    uri: URL, params: dict[str, Any], *_args: Any, **_kwargs: Any
) -> tuple[URL, dict[str, Any]]:
    """Open every DuckDB database read-only, whatever URI an admin registers."""
    if uri.drivername.startswith("duckdb"):
        uri = uri.update_query_dict({"access_mode": "read_only"})
    return uri, params


SECRET_KEY = _secret_key_from_env()
SQLALCHEMY_DATABASE_URI = _metadata_db_uri()
DB_CONNECTION_MUTATOR = _force_read_only

WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = True
# Only this server's own resources: no telemetry pixel, map tiles or web fonts from outside.
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PREVENT_UNSAFE_DB_CONNECTIONS = True
SHOW_STACKTRACE = False

# No uploads into the warehouse: it holds only what dbt and forecasting build.
CSV_EXTENSIONS: set[str] = set()
EXCEL_EXTENSIONS: set[str] = set()
COLUMNAR_EXTENSIONS: set[str] = set()
ALLOWED_EXTENSIONS: set[str] = set()

# No result cache: a chart shows the newly published warehouse on its next refresh.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

ROW_LIMIT = int(os.environ.get("SUPERSET_ROW_LIMIT", "50000"))
LOG_LEVEL = getattr(logging, os.environ.get("SUPERSET_LOG_LEVEL", "INFO").upper())
