"""Each gold job on the hand-built silver of conftest.py: exact expected values, worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from spark_jobs import (
    category_cooccurrence,
    customer_cohorts,
    delivery_routes,
    sales_daily,
    seller_scorecard,
)
from spark_jobs._common import PII_COLUMNS, GoldOutputError, write_gold
from tests.spark_jobs.conftest import read_rows


@pytest.fixture(scope="module")
def gold(spark: Any, tiny_silver: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All five jobs run once on the tiny silver; base month 2018-02 so January is deflated by 0.32 %."""
    folder = tmp_path_factory.mktemp("gold")
    sales_daily.run(spark, tiny_silver, folder.as_uri(), base_month="2018-02-01")
    seller_scorecard.run(spark, tiny_silver, folder.as_uri())
    customer_cohorts.run(spark, tiny_silver, folder.as_uri())
    delivery_routes.run(spark, tiny_silver, folder.as_uri())
    category_cooccurrence.run(spark, tiny_silver, folder.as_uri())
    return folder


def _pick(rows: list[dict[str, Any]], *columns: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(r[c] for c in columns) for r in rows)


def test_sales_daily_nominal_and_constant_brl(gold: Path) -> None:
    rows = read_rows(gold / "sales_daily")
    got = _pick(
        rows,
        "sale_date",
        "category",
        "customer_state",
        "orders",
        "items",
        "revenue",
        "freight",
        "gross_revenue",
        "revenue_constant_brl",
        "gross_revenue_constant_brl",
        "sale_month",
    )
    jan, feb = date(2018, 1, 10), date(2018, 2, 5)
    # January prices in February BRL: x 1.0032 (February's IPCA), rounded to the cent.
    assert got == sorted(
        [
            (
                jan,
                "computers",
                "RJ",
                1,
                1,
                D("20.00"),
                D("2.00"),
                D("22.00"),
                D("20.06"),
                D("22.07"),
                "2018-01",
            ),
            (
                jan,
                "computers",
                "SP",
                1,
                1,
                D("50.50"),
                D("5.25"),
                D("55.75"),
                D("50.66"),
                D("55.93"),
                "2018-01",
            ),
            (
                jan,
                "health_beauty",
                "RJ",
                1,
                2,
                D("60.00"),
                D("6.00"),
                D("66.00"),
                D("60.19"),
                D("66.21"),
                "2018-01",
            ),
            (
                jan,
                "health_beauty",
                "SP",
                1,
                1,
                D("100.00"),
                D("10.00"),
                D("110.00"),
                D("100.32"),
                D("110.35"),
                "2018-01",
            ),
            (
                feb,
                "brinquedos",
                "SP",
                1,
                1,
                D("80.00"),
                D("8.00"),
                D("88.00"),
                D("80.00"),
                D("88.00"),
                "2018-02",
            ),
            (
                feb,
                "computers",
                "MG",
                1,
                1,
                D("10.00"),
                D("1.00"),
                D("11.00"),
                D("10.00"),
                D("11.00"),
                "2018-02",
            ),
            (
                feb,
                "health_beauty",
                "SP",
                1,
                1,
                D("19.99"),
                D("1.01"),
                D("21.00"),
                D("19.99"),
                D("21.00"),
                "2018-02",
            ),
            (
                feb,
                "unknown",
                "MG",
                1,
                1,
                D("40.00"),
                D("4.00"),
                D("44.00"),
                D("40.00"),
                D("44.00"),
                "2018-02",
            ),
        ]
    )
    assert {r["deflator"] for r in rows if r["sale_month"] == "2018-01"} == {1.0032}
    assert {r["deflator"] for r in rows if r["sale_month"] == "2018-02"} == {1.0}
    assert sum(r["revenue"] for r in rows) == D("380.49")  # every silver item, once


def test_sales_daily_is_partitioned_by_month(gold: Path) -> None:
    assert sorted(p.name for p in (gold / "sales_daily").iterdir() if p.is_dir()) == [
        "sale_month=2018-01",
        "sale_month=2018-02",
    ]


def test_sales_daily_refuses_a_base_month_outside_the_ipca_series(
    spark: Any, tiny_silver: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="2017-01-01"):
        sales_daily.run(spark, tiny_silver, tmp_path.as_uri(), base_month="2017-01-01")


def test_seller_scorecard(gold: Path) -> None:
    got = _pick(
        read_rows(gold / "seller_scorecard"),
        "month",
        "seller_id",
        "seller_state",
        "revenue",
        "orders",
        "items",
        "on_time_rate",
        "avg_review",
        "cancellation_rate",
        "rank_in_state",
    )
    assert got == [
        # s1 sold in o1 (on time, review 5) and o2 (late; latest review 3 of two)
        ("2018-01", "s1", "SP", D("160.00"), 2, 3, 0.5, 4.0, 0.0, 1),
        ("2018-01", "s2", "SP", D("50.50"), 1, 1, 1.0, 5.0, 0.0, 2),
        ("2018-01", "s3", "RJ", D("20.00"), 1, 1, 0.0, 3.0, 0.0, 1),
        # o3 delivered on the estimated day: on time
        ("2018-02", "s2", "SP", D("99.99"), 1, 2, 1.0, 4.0, 0.0, 1),
        # o4 canceled: no delivery, no review
        ("2018-02", "s3", "RJ", D("50.00"), 1, 2, None, None, 1.0, 1),
    ]


def test_delivery_routes(gold: Path) -> None:
    got = _pick(
        read_rows(gold / "delivery_routes"),
        "seller_state",
        "customer_state",
        "shipments",
        "median_days",
        "p90_days",
        "avg_days",
        "late_share",
    )
    assert got == [
        ("RJ", "RJ", 1, 15.0, 15.0, 15.0, 1.0),  # o2 from s3
        ("SP", "RJ", 1, 15.0, 15.0, 15.0, 1.0),  # o2 from s1
        # o1 from s1 and from s2 (5 days each), o3 from s2 (4 days): p90 interpolates 5 and 5
        ("SP", "SP", 3, 5.0, 5.0, 4.6667, 0.0),
    ]


def test_customer_cohorts_retention(gold: Path) -> None:
    got = _pick(
        read_rows(gold / "customer_cohorts"),
        "cohort_month",
        "months_since_first",
        "cohort_size",
        "customers",
        "retention_rate",
    )
    # person A: January and February; person B: January; person C: only a canceled order (not counted)
    assert got == [("2018-01", 0, 2, 2, 1.0), ("2018-01", 1, 2, 1, 0.5)]


def test_customer_rfm_segments(gold: Path) -> None:
    got = _pick(
        read_rows(gold / "customer_rfm"),
        "customer_unique_token",
        "as_of",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
    )
    as_of = date(2018, 2, 6)  # the day after the last order
    assert got == [
        ("personA", as_of, 1, 2, D("274.75"), 2, 2, 2, "loyal"),
        ("personB", as_of, 27, 1, D("88.00"), 1, 1, 1, "hibernating"),
    ]


def test_customer_rfm_as_of_option(spark: Any, tiny_silver: str, tmp_path: Path) -> None:
    customer_cohorts.run(spark, tiny_silver, tmp_path.as_uri(), as_of="2018-03-01", exclude_statuses="")
    got = _pick(read_rows(tmp_path / "customer_rfm"), "customer_unique_token", "recency_days", "frequency")
    assert got == [("personA", 24, 2), ("personB", 50, 1), ("personC", 24, 1)]


def test_category_cooccurrence(gold: Path) -> None:
    got = _pick(
        read_rows(gold / "category_cooccurrence"),
        "category_a",
        "category_b",
        "orders_together",
        "orders_a",
        "orders_b",
        "orders_total",
        "support",
        "confidence_a_to_b",
        "confidence_b_to_a",
        "lift",
    )
    # baskets: o1 {health_beauty, computers}, o2 {health_beauty, computers}, o3 {brinquedos,
    # health_beauty}, o4 {computers} (its uncategorised item is left out): N = 4
    assert got == [
        ("brinquedos", "health_beauty", 1, 1, 3, 4, 0.25, 1.0, 0.333333, 1.333333),
        ("computers", "health_beauty", 2, 3, 3, 4, 0.5, 0.666667, 0.666667, 0.888889),
    ]


def test_category_cooccurrence_min_orders(spark: Any, tiny_silver: str, tmp_path: Path) -> None:
    category_cooccurrence.run(spark, tiny_silver, tmp_path.as_uri(), min_orders=2)
    assert _pick(read_rows(tmp_path / "category_cooccurrence"), "category_a", "category_b") == [
        ("computers", "health_beauty")
    ]


def test_no_personal_data_column_in_any_gold_output(gold: Path) -> None:
    import pyarrow.parquet as pq

    tables = [p for p in gold.iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert len(tables) == 6
    for table in tables:
        for file in table.rglob("*.parquet"):
            names = {n.lower() for n in pq.read_schema(file).names}
            assert not names & PII_COLUMNS, (table.name, names & PII_COLUMNS)
            assert not any(n.endswith("_id") and n.startswith("customer") for n in names)


def test_a_pii_column_is_refused_before_anything_is_written(spark: Any, tmp_path: Path) -> None:
    df = spark.createDataFrame([("x", 1)], "customer_id string, n int")
    with pytest.raises(GoldOutputError, match="customer_id"):
        write_gold(df, tmp_path.as_uri(), "leaky", order_by=("n",))
    assert not (tmp_path / "leaky").exists()


def test_rewrite_replaces_the_table_atomically(spark: Any, tmp_path: Path) -> None:
    first = spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int")
    second = spark.createDataFrame([("c", 3)], "k string, v int")
    write_gold(first, tmp_path.as_uri(), "t", order_by=("k",), partition_by=("k",))
    write_gold(second, tmp_path.as_uri(), "t", order_by=("k",), partition_by=("k",))
    assert read_rows(tmp_path / "t") == [{"k": "c", "v": 3}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]  # no staging or trash left behind


def test_same_input_gives_the_same_rows(spark: Any, tiny_silver: str, gold: Path, tmp_path: Path) -> None:
    for job in (sales_daily, category_cooccurrence):  # the cluster test compares seller_scorecard
        options = {"base_month": "2018-02-01"} if job is sales_daily else {}
        for table in job.run(spark, tiny_silver, tmp_path.as_uri(), **options):
            assert read_rows(tmp_path / table) == read_rows(gold / table), table
