"""`dbt build` on PostgreSQL (a fresh database on 127.0.0.1), loaded by the real ingestion."""

from __future__ import annotations

import pytest

from orchestration.warehouse.dbt import TRANSFORM_DIR
from security.masking import mask_token
from security.secret_names import MASKING_KEY
from tests.transform import helpers
from tests.transform.conftest import PG, Built

pytestmark = pytest.mark.integration


def _query(built: Built):
    import psycopg2

    def query(sql: str) -> list[tuple]:
        connection = psycopg2.connect(dbname=built.settings.pg_database, **PG)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()
        finally:
            connection.close()

    return query


def test_build_passes(postgres_built: Built) -> None:
    run = postgres_built.run
    assert run.success, "\n".join(run.failures + postgres_built.lines[-40:])
    assert run.failures == []


def test_tokens_equal_the_python_reference(postgres_built: Built) -> None:
    key = postgres_built.vault.get(MASKING_KEY)
    query = _query(postgres_built)
    raw = query("select customer_id, customer_unique_id from raw_olist.customers")
    tokens = {row[0] for row in query("select customer_token from silver.customers")}
    assert raw and {mask_token(customer_id, key) for customer_id, _ in raw} == tokens


def test_masking_key_never_written(postgres_built: Built) -> None:
    key = postgres_built.vault.get(MASKING_KEY)
    helpers.assert_key_never_written(key, postgres_built.settings.home, TRANSFORM_DIR, postgres_built.lines)


def test_no_pii_in_silver_or_marts(postgres_built: Built) -> None:
    assert helpers.scan_for_pii(_query(postgres_built)) == []


def test_every_pii_column_is_treated_in_silver(postgres_built: Built) -> None:
    manifest = postgres_built.settings.home / "dbt" / "target" / "manifest.json"
    assert helpers.pii_columns_reaching_silver(manifest, _query(postgres_built)) == []


def test_reconciliation_to_the_cent(postgres_built: Built) -> None:
    helpers.assert_reconciles_to_the_cent(_query(postgres_built))
