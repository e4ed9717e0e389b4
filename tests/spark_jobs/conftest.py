"""Fixtures of the Spark tests: one small local SparkSession per test session, and a tiny silver layer
built by hand (every expected value in test_jobs.py can be checked with pencil and paper)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"

REPO = Path(__file__).resolve().parents[2]
MONEY = pa.decimal128(12, 2)
TS = pa.timestamp("us")


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _money(value: str) -> Decimal:
    return Decimal(value)


SILVER: dict[str, tuple[pa.Schema, list[dict[str, Any]]]] = {
    "customers": (
        pa.schema(
            [
                ("customer_token", pa.string()),
                ("customer_unique_token", pa.string()),
                ("customer_zip3", pa.string()),
                ("customer_state", pa.string()),
                ("loaded_at", TS),
            ]
        ),
        [
            {
                "customer_token": "tokA1",
                "customer_unique_token": "personA",
                "customer_zip3": "010",
                "customer_state": "SP",
                "loaded_at": None,
            },
            {
                "customer_token": "tokA2",
                "customer_unique_token": "personA",
                "customer_zip3": "010",
                "customer_state": "SP",
                "loaded_at": None,
            },
            {
                "customer_token": "tokB1",
                "customer_unique_token": "personB",
                "customer_zip3": "200",
                "customer_state": "RJ",
                "loaded_at": None,
            },
            {
                "customer_token": "tokC1",
                "customer_unique_token": "personC",
                "customer_zip3": "300",
                "customer_state": "MG",
                "loaded_at": None,
            },
        ],
    ),
    "orders": (
        pa.schema(
            [
                ("order_id", pa.string()),
                ("customer_token", pa.string()),
                ("order_status", pa.string()),
                ("purchased_at", TS),
                ("approved_at", TS),
                ("delivered_to_carrier_at", TS),
                ("delivered_to_customer_at", TS),
                ("estimated_delivery_at", TS),
                ("loaded_at", TS),
            ]
        ),
        [
            # o1: on time; o2: late, bought late in the evening of the same day; o3: delivered on the
            # estimated day (on time); o4: canceled, never delivered.
            {
                "order_id": "o1",
                "customer_token": "tokA1",
                "order_status": "delivered",
                "purchased_at": _ts("2018-01-10 10:00"),
                "delivered_to_customer_at": _ts("2018-01-15 09:00"),
                "estimated_delivery_at": _ts("2018-01-20 00:00"),
            },
            {
                "order_id": "o2",
                "customer_token": "tokB1",
                "order_status": "delivered",
                "purchased_at": _ts("2018-01-10 23:30"),
                "delivered_to_customer_at": _ts("2018-01-25 12:00"),
                "estimated_delivery_at": _ts("2018-01-20 00:00"),
            },
            {
                "order_id": "o3",
                "customer_token": "tokA2",
                "order_status": "delivered",
                "purchased_at": _ts("2018-02-05 08:00"),
                "delivered_to_customer_at": _ts("2018-02-09 18:00"),
                "estimated_delivery_at": _ts("2018-02-09 00:00"),
            },
            {
                "order_id": "o4",
                "customer_token": "tokC1",
                "order_status": "canceled",
                "purchased_at": _ts("2018-02-05 09:00"),
                "delivered_to_customer_at": None,
                "estimated_delivery_at": _ts("2018-02-20 00:00"),
            },
        ],
    ),
    "order_items": (
        pa.schema(
            [
                ("order_id", pa.string()),
                ("order_item_id", pa.int32()),
                ("product_id", pa.string()),
                ("seller_id", pa.string()),
                ("shipping_limit_at", TS),
                ("price", MONEY),
                ("freight_value", MONEY),
                ("loaded_at", TS),
            ]
        ),
        [
            {
                "order_id": o,
                "order_item_id": i,
                "product_id": p,
                "seller_id": s,
                "price": _money(pr),
                "freight_value": _money(fr),
            }
            for o, i, p, s, pr, fr in [
                ("o1", 1, "p1", "s1", "100.00", "10.00"),
                ("o1", 2, "p2", "s2", "50.50", "5.25"),
                ("o2", 1, "p1", "s1", "30.00", "3.00"),
                ("o2", 2, "p1", "s1", "30.00", "3.00"),
                ("o2", 3, "p2", "s3", "20.00", "2.00"),
                ("o3", 1, "p4", "s2", "80.00", "8.00"),
                ("o3", 2, "p1", "s2", "19.99", "1.01"),
                ("o4", 1, "p3", "s3", "40.00", "4.00"),
                ("o4", 2, "p2", "s3", "10.00", "1.00"),
            ]
        ],
    ),
    "order_payments": (
        pa.schema(
            [
                ("order_id", pa.string()),
                ("payment_sequential", pa.int32()),
                ("payment_type", pa.string()),
                ("payment_installments", pa.int32()),
                ("payment_value", MONEY),
                ("loaded_at", TS),
            ]
        ),
        [
            {
                "order_id": "o1",
                "payment_sequential": 1,
                "payment_type": "credit_card",
                "payment_installments": 1,
                "payment_value": Decimal("165.75"),
            }
        ],
    ),
    "order_reviews": (
        pa.schema(
            [
                ("review_id", pa.string()),
                ("order_id", pa.string()),
                ("review_score", pa.int32()),
                ("review_comment_title", pa.string()),
                ("review_comment_message", pa.string()),
                ("review_created_at", TS),
                ("review_answered_at", TS),
                ("loaded_at", TS),
            ]
        ),
        [
            {
                "review_id": "r1",
                "order_id": "o1",
                "review_score": 5,
                "review_created_at": _ts("2018-01-16"),
                "review_answered_at": _ts("2018-01-17"),
            },
            {
                "review_id": "r2a",
                "order_id": "o2",
                "review_score": 1,
                "review_created_at": _ts("2018-01-26"),
                "review_answered_at": _ts("2018-01-26 10:00"),
            },
            {
                "review_id": "r2b",
                "order_id": "o2",
                "review_score": 3,  # the latest review of o2
                "review_created_at": _ts("2018-01-26"),
                "review_answered_at": _ts("2018-01-27 10:00"),
            },
            {
                "review_id": "r3",
                "order_id": "o3",
                "review_score": 4,
                "review_created_at": _ts("2018-02-10"),
                "review_answered_at": _ts("2018-02-11"),
            },
        ],
    ),
    "products": (
        pa.schema([("product_id", pa.string()), ("product_category_name", pa.string())]),
        [
            {"product_id": "p1", "product_category_name": "beleza_saude"},
            {"product_id": "p2", "product_category_name": "informatica"},
            {"product_id": "p3", "product_category_name": None},
            {"product_id": "p4", "product_category_name": "brinquedos"},  # no English name
        ],
    ),
    "product_categories": (
        pa.schema([("product_category_name", pa.string()), ("product_category_name_english", pa.string())]),
        [
            {"product_category_name": "beleza_saude", "product_category_name_english": "health_beauty"},
            {"product_category_name": "informatica", "product_category_name_english": "computers"},
        ],
    ),
    "sellers": (
        pa.schema(
            [
                ("seller_id", pa.string()),
                ("seller_zip3", pa.string()),
                ("seller_city", pa.string()),
                ("seller_state", pa.string()),
            ]
        ),
        [
            {"seller_id": "s1", "seller_zip3": "010", "seller_city": "sao paulo", "seller_state": "SP"},
            {"seller_id": "s2", "seller_zip3": "130", "seller_city": "campinas", "seller_state": "SP"},
            {"seller_id": "s3", "seller_zip3": "200", "seller_city": "rio de janeiro", "seller_state": "RJ"},
        ],
    ),
    "ipca": (
        pa.schema([("month_start", pa.date32()), ("ipca_pct", pa.decimal128(8, 4))]),
        [
            {"month_start": date(2018, 1, 1), "ipca_pct": Decimal("0.2900")},
            {"month_start": date(2018, 2, 1), "ipca_pct": Decimal("0.3200")},
            {"month_start": date(2018, 3, 1), "ipca_pct": Decimal("0.0900")},
        ],
    ),
}


def write_silver(folder: Path) -> Path:
    for table, (schema, rows) in SILVER.items():
        (folder / table).mkdir(parents=True)
        full = [{name: row.get(name) for name in schema.names} for row in rows]
        pq.write_table(pa.Table.from_pylist(full, schema=schema), folder / table / "part-0.parquet")
    return folder


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One small local session for every Spark test (2 cores shared with other suites)."""
    from orchestration.gold.spark import SparkSettings, build_session

    session = build_session(SparkSettings(master="local[2]", shuffle_partitions=2, app_name="cofre-tests"))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def tiny_silver(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_silver(tmp_path_factory.mktemp("lake") / "silver").as_uri()


@pytest.fixture(scope="session")
def warehouse_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real warehouse: `cofre run --scale 0.01` (ingestion + dbt build), once per test session."""
    home = tmp_path_factory.mktemp("cofre_home")
    env = {**os.environ, "COFRE_HOME": str(home)}
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration", "run", "--scale", "0.01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return home


def read_rows(folder: Path | str) -> list[dict[str, Any]]:
    """Every row of a gold table (hive partitions included), sorted, for exact comparisons."""
    import pyarrow.dataset as ds

    path = Path(str(folder).removeprefix("file://"))
    table = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    rows = table.to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in sorted(r)))
