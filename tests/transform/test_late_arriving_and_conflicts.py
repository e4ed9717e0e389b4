"""A real-format Olist delivery with late-arriving dimensions and conflicting duplicates, through the real
ingestion CLI (`python -m orchestration ingest --olist-dir DIR`) and a real `dbt build`, on DuckDB and
PostgreSQL: the build succeeds, orphans point to unknown members and are counted per fact, revenue
reconciles to the cent, every conflict is recorded and resolved by the documented rule, and the next
delivery that brings the missing rows attaches the facts (the marts are rebuilt every run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import Settings
from security.masking import mask_token
from security.secret_names import MASKING_KEY
from tests.transform import helpers
from tests.transform.conftest import PG, REPO, build
from tests.transform.helpers import Gaps, olist_delivery_with_gaps, olist_records

pytestmark = pytest.mark.integration

Query = Callable[[str], list[tuple]]


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Gaps]:
    """A complete generated Olist folder and a copy of it with gaps and conflicting duplicates."""
    from ingestion.olist_generator import generate_olist

    root = tmp_path_factory.mktemp("olist-deliveries")
    complete = root / "complete"
    generate_olist(complete, scale=0.01, seed=13)
    gaps = olist_delivery_with_gaps(complete, root / "with-gaps")
    return root / "with-gaps", complete, gaps


def _ingest(folder: Path, settings: Settings) -> None:
    env = {**os.environ, "COFRE_HOME": str(settings.home)}
    args = [sys.executable, "-m", "orchestration", "ingest", "--olist-dir", str(folder)]
    if settings.target == "postgres":
        args += ["--target", "postgres"]
        env["COFRE_PG_DATABASE"] = settings.pg_database
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _query(settings: Settings) -> Query:
    if settings.target == "duckdb":

        def query(sql: str) -> list[tuple]:
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
                return connection.execute(sql).fetchall()

        return query
    import psycopg2

    def pg_query(sql: str) -> list[tuple]:
        connection = psycopg2.connect(dbname=settings.pg_database, **PG)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()
        finally:
            connection.close()

    return pg_query


def _test_results(settings: Settings) -> dict[str, tuple[str, int]]:
    """Status and failing-row count of every test of the last dbt run, by test name."""
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    return {
        r["unique_id"].split(".")[2]: (r["status"], r["failures"])
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }


def _expected_orphans(folder: Path, gaps: Gaps) -> dict[tuple[str, str], tuple[int, Decimal | None]]:
    items = olist_records(folder / helpers.ITEMS_FILE)
    payments = {(p[0], p[1]): Decimal(p[4]) for p in olist_records(folder / helpers.PAYMENTS_FILE)}
    reviews = {(r[0], r[1]) for r in olist_records(folder / helpers.REVIEWS_FILE)}

    def items_where(keep: Callable[[list[str]], bool]) -> tuple[int, Decimal]:
        rows = [i for i in items if keep(i)]
        return len(rows), sum((Decimal(i[5]) + Decimal(i[6]) for i in rows), Decimal("0.00"))

    orphan_items = items_where(lambda i: i[0] in gaps.orphan_orders)
    return {
        ("fct_orders", "dim_customer"): (len(gaps.orphan_orders), orphan_items[1]),
        ("fct_order_items", "dim_customer"): orphan_items,
        ("fct_order_items", "dim_product"): items_where(lambda i: i[2] == gaps.missing_product),
        ("fct_order_items", "dim_seller"): items_where(lambda i: i[3] == gaps.missing_seller),
        ("fct_payments", "dim_customer"): (
            sum(1 for order, _ in payments if order in gaps.orphan_orders),
            sum((v for (order, _), v in payments.items() if order in gaps.orphan_orders), Decimal("0.00")),
        ),
        ("fct_reviews", "dim_customer"): (
            sum(1 for _, order in reviews if order in gaps.orphan_orders),
            None,
        ),
    }


def _fact_orphans(query: Query) -> dict[tuple[str, str], tuple[int, Decimal | None]]:
    return {
        (fact, dimension): (int(rows), None if amount is None else Decimal(amount))
        for fact, dimension, rows, amount in query(
            "select fact_table, dimension, orphan_rows, orphan_amount_brl from quality.fact_orphans"
        )
    }


def _revenue_from_files(folder: Path) -> Decimal:
    return sum(
        (Decimal(i[5]) + Decimal(i[6]) for i in olist_records(folder / helpers.ITEMS_FILE)), Decimal("0.00")
    )


def _check_delivery_with_gaps(settings: Settings, folder: Path, gaps: Gaps) -> None:
    built = build(settings)
    assert built.run.success and built.run.failures == [], "\n".join(built.run.failures + built.lines[-40:])
    query = _query(settings)

    # Orphans are kept, point to the unknown members and are counted per fact, with their money.
    expected = _expected_orphans(folder, gaps)
    assert all(count > 0 for count, _ in expected.values())
    assert _fact_orphans(query) == expected
    unknown_orders = {
        r[0] for r in query("select order_id from marts.fct_orders where customer_key = 'unknown'")
    }
    assert unknown_orders == gaps.orphan_orders
    assert query("select count(*) from marts.dim_customer where customer_key = 'unknown'") == [(1,)]

    # The warn tests fire with the orphan counts; nothing fails.
    results = _test_results(settings)
    assert results["order_customer_in_delivery"] == ("warn", len(gaps.orphan_orders))
    assert results["order_customer_token_in_customers"] == ("warn", len(gaps.orphan_orders))
    assert results["fct_orders_customer_not_in_delivery"] == ("warn", len(gaps.orphan_orders))
    assert results["fct_order_items_product_not_in_delivery"] == (
        "warn",
        expected[("fct_order_items", "dim_product")][0],
    )
    assert results["fct_order_items_seller_not_in_delivery"] == (
        "warn",
        expected[("fct_order_items", "dim_seller")][0],
    )
    assert not [name for name, (status, _) in results.items() if status in ("fail", "error")]

    # Revenue reconciles to the cent, from the input files to every layer.
    helpers.assert_reconciles_to_the_cent(query)
    assert query("select sum(item_total) from marts.fct_order_items")[0][0] == _revenue_from_files(folder)

    # The conflicting duplicate: both rows recorded, the delivered one kept by the rule, the id named by
    # the warn test; the unchanged repeat is not a conflict.
    conflicts = query(
        "select order_id, version_rank, is_kept, order_status, differing_columns, bronze_load_id "
        "from quality.order_conflicts order by order_id, version_rank"
    )
    assert [(c[0], c[1], c[2], c[3]) for c in conflicts] == [
        (gaps.conflicting_order, 1, True, "delivered"),
        (gaps.conflicting_order, 2, False, "shipped"),
    ]
    assert conflicts[0][4] == "order_status,delivered_to_customer_at"
    assert conflicts[0][5] and conflicts[0][5] == conflicts[1][5]
    assert results["order_ids_with_conflicting_rows"] == ("warn", 1)
    assert query("select order_id, versions from quality.order_ids_with_conflicting_rows") == [
        (gaps.conflicting_order, 2)
    ]
    statuses = dict(
        query(
            "select order_id, order_status from silver.orders "
            f"where order_id in ('{gaps.conflicting_order}', '{gaps.repeated_order}')"
        )
    )
    assert statuses == {gaps.conflicting_order: "delivered", gaps.repeated_order: "delivered"}


def _check_complete_delivery_attaches(settings: Settings, folder: Path, gaps: Gaps) -> None:
    built = build(settings)
    assert built.run.success and built.run.failures == [], "\n".join(built.run.failures + built.lines[-40:])
    query = _query(settings)
    assert {count for count, _ in _fact_orphans(query).values()} == {0}
    key = built.vault.get(MASKING_KEY)
    attached = dict(
        query(
            "select order_id, customer_key from marts.fct_orders where order_id in ("
            + ", ".join(f"'{order}'" for order in sorted(gaps.orphan_orders))
            + ")"
        )
    )
    assert attached == {order: mask_token(customer, key) for order, customer in gaps.orphan_customers.items()}
    assert query("select count(*) from quality.order_conflicts") == [(0,)]
    results = _test_results(settings)
    assert results["fct_orders_customer_not_in_delivery"] == ("pass", 0)
    assert results["order_ids_with_conflicting_rows"] == ("pass", 0)
    helpers.assert_reconciles_to_the_cent(query)
    assert query("select sum(item_total) from marts.fct_order_items")[0][0] == _revenue_from_files(folder)


def test_duckdb_keeps_orphans_counts_them_and_attaches_them_later(
    deliveries: tuple[Path, Path, Gaps], tmp_path: Path
) -> None:
    with_gaps, complete, gaps = deliveries
    settings = Settings(home=tmp_path / "home")
    _ingest(with_gaps, settings)
    _check_delivery_with_gaps(settings, with_gaps, gaps)
    _ingest(complete, settings)
    _check_complete_delivery_attaches(settings, complete, gaps)


def test_postgres_keeps_orphans_counts_them_and_attaches_them_later(
    deliveries: tuple[Path, Path, Gaps], tmp_path: Path, pg_database: str
) -> None:
    with_gaps, complete, gaps = deliveries
    settings = Settings(home=tmp_path / "home", target="postgres", pg_database=pg_database)
    _ingest(with_gaps, settings)
    _check_delivery_with_gaps(settings, with_gaps, gaps)
    _ingest(complete, settings)
    _check_complete_delivery_attaches(settings, complete, gaps)


def test_a_whole_run_on_the_delivery_with_gaps_succeeds_and_reports_its_orphans(
    deliveries: tuple[Path, Path, Gaps], tmp_path: Path
) -> None:
    """`cofre run --olist-dir` (every step, Spark and publish included) exits 0 on the delivery with gaps;
    its summary and its run record (what ops.pipeline_runs shows) count the facts kept on unknown
    members, as the files say."""
    with_gaps, _, gaps = deliveries
    home = tmp_path / "home"
    env = {**os.environ, "COFRE_HOME": str(home), "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, "-m", "orchestration", "run", "--olist-dir", str(with_gaps)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "unknown member: fct_orders->dim_customer" in done.stdout
    record = json.loads(next((home / "runs").glob("*.json")).read_text())
    marts = next(step for step in record["steps"] if step["name"] == "transform_marts")
    counted = {c["table"]: c["rows"] for c in marts["result"]["counts"] if c["stage"] == "orphans"}
    expected = {f"{f}->{d}": n for (f, d), (n, _) in _expected_orphans(with_gaps, gaps).items() if n}
    assert counted == expected
