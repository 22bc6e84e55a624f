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
- ``SUPERSET_AUTH_RATE_LIMIT``: login attempts allowed per client address, in the syntax of the
  ``limits`` library (default ``10 per minute``), counted over a moving window.
- ``SUPERSET_RATELIMIT_STORAGE_URI``: where the counts are kept (default a SQLite file in
  ``SUPERSET_HOME``, shared by every gunicorn worker; ``redis://...`` for several hosts).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import closing as contextlib_closing
from typing import Any, ClassVar

import duckdb_engine
from limits.storage import MovingWindowSupport, Storage
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
    return f"sqlite:///{os.path.join(_superset_home(), 'superset.db')}?check_same_thread=false"


def _superset_home() -> str:
    return os.environ.get("SUPERSET_HOME") or os.path.expanduser("~/.superset")


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


class SQLiteRateLimitStorage(Storage, MovingWindowSupport):  # type: ignore[misc]
    """Rate-limit counts in one SQLite file, shared by every gunicorn worker on this host.

    The ``limits`` library keeps counts in memory (one count per worker process, so two workers
    allow twice the limit) or in a server (Redis, Memcached, MongoDB). A file needs no server:
    each check is one short ``BEGIN IMMEDIATE`` transaction, so concurrent workers queue on the
    file's write lock and never lose a count. URI: ``dwh+sqlite:///<absolute path>``.
    """

    STORAGE_SCHEME: ClassVar[list[str]] = ["dwh+sqlite"]
    BUSY_TIMEOUT_S = 10.0

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._path = uri.split("://", 1)[1]
        with self._connection() as connection:
            connection.execute("pragma journal_mode = wal")
            connection.execute(
                "create table if not exists window_entries (key text not null, at real not null)"
            )
            connection.execute(
                "create index if not exists window_entries_key on window_entries (key, at)"
            )
            connection.execute(
                "create table if not exists counters "
                "(key text primary key, count integer not null, expires_at real not null)"
            )

    def _connection(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=self.BUSY_TIMEOUT_S, isolation_level=None)

    def _write(self, work: Any) -> Any:
        connection = self._connection()
        try:
            connection.execute("begin immediate")
            result = work(connection)
            connection.execute("commit")
            return result
        except BaseException:
            if connection.in_transaction:
                connection.execute("rollback")
            raise
        finally:
            connection.close()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    # Moving window (RATELIMIT_STRATEGY = "moving-window"): one row per counted request.
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()

        def acquire(connection: sqlite3.Connection) -> bool:
            connection.execute(
                "delete from window_entries where key = ? and at <= ?", (key, now - expiry)
            )
            (used,) = connection.execute(
                "select count(*) from window_entries where key = ?", (key,)
            ).fetchone()
            if used + amount > limit:
                return False
            connection.executemany(
                "insert into window_entries values (?, ?)", [(key, now)] * amount
            )
            return True

        return bool(self._write(acquire))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with contextlib_closing(self._connection()) as connection:
            oldest, used = connection.execute(
                "select min(at), count(*) from window_entries where key = ? and at > ?",
                (key, now - expiry),
            ).fetchone()
        return (oldest if oldest is not None else now), int(used)

    # Fixed window: a counter per key that starts again once it expires.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()

        def increment(connection: sqlite3.Connection) -> int:
            row = connection.execute(
                "select count, expires_at from counters where key = ?", (key,)
            ).fetchone()
            count = amount if row is None or row[1] <= now else row[0] + amount
            expires_at = now + expiry if row is None or row[1] <= now else row[1]
            connection.execute(
                "insert or replace into counters values (?, ?, ?)", (key, count, expires_at)
            )
            return count

        return int(self._write(increment))

    def get(self, key: str) -> int:
        with contextlib_closing(self._connection()) as connection:
            row = connection.execute(
                "select count from counters where key = ? and expires_at > ?", (key, time.time())
            ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        with contextlib_closing(self._connection()) as connection:
            row = connection.execute(
                "select expires_at from counters where key = ?", (key,)
            ).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            with contextlib_closing(self._connection()) as connection:
                connection.execute("select 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int:
        def delete_all(connection: sqlite3.Connection) -> int:
            deleted = connection.execute("delete from counters").rowcount
            return int(deleted + connection.execute("delete from window_entries").rowcount)

        return int(self._write(delete_all))

    def clear(self, key: str) -> None:
        def delete_key(connection: sqlite3.Connection) -> None:
            connection.execute("delete from counters where key = ?", (key,))
            connection.execute("delete from window_entries where key = ?", (key,))

        self._write(delete_key)


# Failed (and successful) logins per client address, for the login form and the REST login,
# counted across every gunicorn worker. Superset leaves rate limiting off outside
# SUPERSET_ENV=production; here it is always on, for logins only (no app-wide request limit).
RATELIMIT_ENABLED = True
RATELIMIT_APPLICATION = None
RATELIMIT_STRATEGY = "moving-window"
RATELIMIT_STORAGE_URI = os.environ.get("SUPERSET_RATELIMIT_STORAGE_URI") or (
    "dwh+sqlite:///" + os.path.join(os.path.abspath(_superset_home()), "rate_limits.sqlite")
)
AUTH_RATE_LIMITED = True
AUTH_RATE_LIMIT = os.environ.get("SUPERSET_AUTH_RATE_LIMIT", "10 per minute")
# Flask-AppBuilder limits the login form (its auth view) only; the REST login is limited by
# Flask-Limiter's default limit, which every other request is exempt from.
REST_LOGIN_PATH = "/api/v1/security/login"


def _is_not_a_rest_login() -> bool:
    from flask import request

    return not (request.method == "POST" and request.path.rstrip("/") == REST_LOGIN_PATH)


RATELIMIT_DEFAULT = AUTH_RATE_LIMIT
RATELIMIT_DEFAULTS_EXEMPT_WHEN = _is_not_a_rest_login
