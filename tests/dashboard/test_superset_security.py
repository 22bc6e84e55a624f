"""What SQL typed into Superset can reach: only the published warehouse, read-only.

Each statement goes through SQL Lab's API exactly as a logged-in admin would send it, so both
Superset's own guards (DML off) and the DuckDB connection lockdown are exercised.
"""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import RunningSuperset
from tests.dashboard.superset_api import SupersetApi

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse_db(api: SupersetApi) -> int:
    return api.database_id("warehouse")


def error_text(body: dict[str, object]) -> str:
    return str(body.get("errors") or body.get("message") or body)


def test_a_mart_is_readable_through_sql_lab(api: SupersetApi, warehouse_db: int) -> None:
    response = api.run_sql(warehouse_db, "select count(*) as n from marts.mart_price_24h")
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["n"] > 0


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("select * from read_csv('/etc/passwd')", "file system operations are disabled"),
        ("select * from read_text('/etc/hostname')", "file system operations are disabled"),
        ("copy (select 1) to '/tmp/escaped.csv'", ""),
        ("attach '/tmp/other.duckdb' as other", ""),
        ("set enable_external_access = true", ""),
        ("delete from marts.mart_price_24h", ""),
        ("drop table marts.mart_price_24h", ""),
        ("create table marts.intruder as select 1 as x", ""),
    ],
)
def test_sql_lab_refuses_file_access_writes_and_unlocking(
    api: SupersetApi, warehouse_db: int, sql: str, reason: str
) -> None:
    response = api.run_sql(warehouse_db, sql)
    assert response.status_code >= 400, f"{sql!r} was allowed: {response.text[:300]}"
    assert reason in error_text(response.json())


def test_the_table_survives_the_attempted_delete(api: SupersetApi, warehouse_db: int) -> None:
    api.run_sql(warehouse_db, "delete from marts.mart_price_24h")
    response = api.run_sql(warehouse_db, "select count(*) as n from marts.mart_price_24h")
    assert response.json()["data"][0]["n"] > 0


def test_database_is_registered_read_only_without_uploads(
    api: SupersetApi, warehouse_db: int, superset: RunningSuperset
) -> None:
    database = api.get(f"/api/v1/database/{warehouse_db}").json()["result"]
    assert database["allow_dml"] is False
    assert database["allow_file_upload"] is False
    assert database["allow_ctas"] is False
    assert database["allow_cvas"] is False
    connection = api.get(f"/api/v1/database/{warehouse_db}/connection").json()["result"]
    assert connection["sqlalchemy_uri"] == (
        f"duckdb:///{superset.settings.serving_path}?access_mode=read_only"
    )


def test_delete_fails_in_duckdb_even_with_dml_allowed_in_superset(
    api: SupersetApi, warehouse_db: int
) -> None:
    """Superset's DML switch is one guard; the read-only connection is the second. The target is
    a mart stored as a table (most marts are views, where DuckDB refuses a DELETE for that reason
    before it gets to the read-only one)."""
    api.session.put(
        f"{api.base_url}/api/v1/database/{warehouse_db}", json={"allow_dml": True}, timeout=60
    ).raise_for_status()
    try:
        response = api.run_sql(warehouse_db, "delete from marts.mart_quality_ranking")
        assert response.status_code >= 400
        assert "read-only" in error_text(response.json())
    finally:
        api.session.put(
            f"{api.base_url}/api/v1/database/{warehouse_db}", json={"allow_dml": False}, timeout=60
        ).raise_for_status()


def test_a_write_without_the_csrf_token_is_refused(api: SupersetApi, warehouse_db: int) -> None:
    response = api.session.post(
        f"{api.base_url}/api/v1/sqllab/execute/",
        json={"database_id": warehouse_db, "sql": "select 1", "runAsync": False},
        headers={"X-CSRFToken": ""},
        timeout=60,
    )
    assert response.status_code == 400
    assert "CSRF" in response.text
