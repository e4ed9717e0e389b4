"""`dbt build` on the embedded DuckDB warehouse, loaded by the real ingestion at scale 0.01."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.dbt import TRANSFORM_DIR, run_dbt
from security.masking import mask_token
from security.secret_names import MASKING_KEY
from tests.transform import helpers
from tests.transform.conftest import Built, copy_home

pytestmark = pytest.mark.integration


def _query(built: Built):
    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(built.settings.warehouse_path), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    return query


def test_build_passes(duckdb_built: Built) -> None:
    run = duckdb_built.run
    assert run.success, "\n".join(run.failures + duckdb_built.lines[-40:])
    assert run.failures == []
    assert any("Completed" in line or "Done. PASS=" in line for line in duckdb_built.lines)
    # Unit tests ran in the build.
    assert any("unit_test" in line or "orders_late_flag" in line for line in duckdb_built.lines)


def test_artifacts_stay_in_the_state_directory(duckdb_built: Built) -> None:
    home = duckdb_built.settings.home
    assert duckdb_built.run.target_path == home / "dbt" / "target"
    assert duckdb_built.run.log_path == home / "dbt" / "logs"
    assert (home / "dbt" / "target" / "manifest.json").exists()
    assert (home / "dbt" / "logs" / "dbt.log").exists()


def test_tokens_equal_the_python_reference(duckdb_built: Built) -> None:
    key = duckdb_built.vault.get(MASKING_KEY)
    query = _query(duckdb_built)
    pairs = query(
        "select s.customer_id, s.customer_unique_id, c.customer_token, c.customer_unique_token "
        "from staging.stg_olist__customers as s "
        "join silver.customers as c on c.customer_zip3 = left(s.customer_zip_code_prefix, 3) "
        "order by s.customer_id limit 1"
    )
    tokens = {row[0] for row in query("select customer_token from silver.customers")}
    unique_tokens = {row[0] for row in query("select customer_unique_token from silver.customers")}
    raw = query("select customer_id, customer_unique_id from raw_olist.customers")
    assert pairs and len(tokens) == len(raw)
    assert {mask_token(customer_id, key) for customer_id, _ in raw} == tokens
    assert {mask_token(unique_id, key) for _, unique_id in raw} == unique_tokens


def test_masking_key_never_written(duckdb_built: Built) -> None:
    key = duckdb_built.vault.get(MASKING_KEY)
    helpers.assert_key_never_written(key, duckdb_built.settings.home, TRANSFORM_DIR, duckdb_built.lines)


def test_no_pii_in_silver_or_marts(duckdb_built: Built) -> None:
    assert helpers.scan_for_pii(_query(duckdb_built)) == []


def test_every_pii_column_is_treated_in_silver(duckdb_built: Built) -> None:
    manifest = duckdb_built.settings.home / "dbt" / "target" / "manifest.json"
    assert helpers.pii_columns_reaching_silver(manifest, _query(duckdb_built)) == []


def test_reconciliation_to_the_cent(duckdb_built: Built) -> None:
    helpers.assert_reconciles_to_the_cent(_query(duckdb_built))


def test_star_schema_has_unknown_members_and_month_names(duckdb_built: Built) -> None:
    query = _query(duckdb_built)
    assert query("select count(*) from marts.dim_product where product_key = 'unknown'") == [(1,)]
    assert query("select count(*) from marts.dim_product where category_name_pt = 'unknown'")[0][0] >= 2
    assert query("select month_name_pt from marts.dim_date where date_key = date '2017-03-15'") == [
        ("março",)
    ]
    assert query("select is_holiday from marts.dim_date where date_key = date '2017-09-07'") == [(True,)]
    base = query("select deflator_to_base from marts.fct_ipca_monthly where month_start = base_month")
    assert base == [(Decimal("1.0000000000"),)]


def test_docs_generate(duckdb_built: Built) -> None:
    run = run_dbt(["docs", "generate"], duckdb_built.settings, duckdb_built.vault)
    assert run.success, run.failures
    assert (duckdb_built.settings.home / "dbt" / "target" / "catalog.json").exists()


def test_negative_price_fails_the_gate(duckdb_built: Built, tmp_path: Path) -> None:
    settings = copy_home(duckdb_built.settings, tmp_path / "corrupt")
    marts_snapshot = "select count(*), sum(item_total) from marts.fct_order_items"
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        before = connection.execute(marts_snapshot).fetchall()
        connection.execute(
            "insert into raw_olist.order_items "
            "select order_id, 99, product_id, seller_id, shipping_limit_date, -10.00, freight_value, "
            "_bronze_load_id from raw_olist.order_items limit 1"
        )
    lines: list[str] = []
    # The corrupted table and everything downstream of it (the rest is already built in the copy).
    run = run_dbt(
        ["build", "--select", "stg_olist__order_items+"], settings, duckdb_built.vault, on_line=lines.append
    )
    assert not run.success
    assert any(
        "expect_column_values_to_be_between_stg_olist__order_items_price" in failure
        and "1 failing row" in failure
        for failure in run.failures
    ), run.failures
    # The marts downstream of the failed gate were not built in the corrupted copy.
    assert any("SKIP" in line for line in lines)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        assert connection.execute(marts_snapshot).fetchall() == before
