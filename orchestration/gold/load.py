"""Load the gold Parquet tables of the lake into the warehouse schema `gold`, then reconcile them.

DuckDB: `create or replace table gold.<t> as select * from read_parquet(...)`, all tables in one
transaction. PostgreSQL: each table is copied into `gold.<t>__load` and swapped in by rename, all in one
transaction. Either way a reader sees the previous gold or the new gold, never a mix. On an S3 lake the
gold layer is a `Store`: each table is read with Arrow through the lake's filesystem (no local copy) and
loaded the same way (DuckDB from the Arrow table, with the partition columns as text as `read_parquet`
gives them).

Reconciliation compares gold totals with the silver tables they were computed from, to the cent:
revenue and items of `sales_daily` and `seller_scorecard`, orders and money of `customer_rfm`.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ingestion.lake import Store
from orchestration.warehouse.schemas import GOLD_SCHEMA

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PgConnection

EXCLUDED_STATUSES = ("canceled", "unavailable")  # as spark_jobs/customer_cohorts.py's default


class ReconciliationError(AssertionError):
    """A gold total differs from the silver total it was computed from."""


@dataclass
class GoldLoad:
    target: str
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    checks: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # name -> (gold, silver)


def gold_tables(gold_dir: Path) -> dict[str, Path]:
    """The published gold tables of a lake folder (staging and trash folders are not tables)."""
    if not gold_dir.is_dir():
        return {}
    return {
        p.name: p
        for p in sorted(gold_dir.iterdir())
        if p.is_dir() and not p.name.startswith(("_", ".")) and any(p.rglob("*.parquet"))
    }


def store_gold_tables(store: Store) -> dict[str, Store]:
    """The published gold tables of an S3 gold layer (as `gold_tables`: staging and trash are not tables)."""
    names = {
        key.split("/", 1)[0]
        for key in store.list()
        if "/" in key and key.endswith(".parquet") and not key.startswith(("_", "."))
    }
    return {name: store.child(name) for name in sorted(names)}


def gold_table_rows(gold: Path | Store) -> dict[str, int]:
    """Rows per gold table, from the Parquet footers (no data read)."""
    if isinstance(gold, Store):
        counts = {}
        for table, store in store_gold_tables(gold).items():
            total = 0
            for key in (k for k in store.list() if k.endswith(".parquet")):
                with store.open(key) as handle:
                    total += pq.ParquetFile(handle).metadata.num_rows
            counts[table] = total
        return counts
    return {
        table: sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("*.parquet"))
        for table, folder in gold_tables(gold).items()
    }


def _tables(gold: Path | Store) -> dict[str, Path | Store]:
    return dict(store_gold_tables(gold)) if isinstance(gold, Store) else dict(gold_tables(gold))


def load_gold_duckdb(
    warehouse_path: Path, gold_dir: Path | Store, *, reconcile_totals: bool = True
) -> GoldLoad:
    import duckdb

    started = time.perf_counter()
    tables = _tables(gold_dir)
    con = duckdb.connect(str(warehouse_path))
    try:
        con.execute("begin")
        con.execute(f"create schema if not exists {GOLD_SCHEMA}")
        rows = {}
        for table, folder in tables.items():
            if isinstance(folder, Store):
                con.register("cofre_gold_arrow", _read_gold(folder))
                con.execute(f"create or replace table {GOLD_SCHEMA}.{table} as from cofre_gold_arrow")
                con.unregister("cofre_gold_arrow")
            else:
                pattern = str(folder / "**" / "*.parquet").replace("'", "''")
                con.execute(
                    f"create or replace table {GOLD_SCHEMA}.{table} as "
                    f"select * from read_parquet('{pattern}', hive_partitioning = true, "
                    "hive_types_autocast = false)"
                )
            rows[table] = _count(con.execute(f"select count(*) from {GOLD_SCHEMA}.{table}").fetchone())
        con.execute("commit")
        checks = reconcile(lambda sql: con.execute(sql).fetchone(), set(tables)) if reconcile_totals else {}
    finally:
        con.close()
    return GoldLoad("duckdb", round(time.perf_counter() - started, 3), rows, checks)


def load_gold_postgres(
    con: PgConnection, gold_dir: Path | Store, *, reconcile_totals: bool = True
) -> GoldLoad:
    started = time.perf_counter()
    tables = _tables(gold_dir)
    rows = {}
    with con.cursor() as cursor:
        cursor.execute(f"create schema if not exists {GOLD_SCHEMA}")
        for table, folder in tables.items():
            data = _read_gold(folder)
            staging = f"{GOLD_SCHEMA}.{table}__load"
            columns = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in data.schema)
            cursor.execute(f"drop table if exists {staging}")
            cursor.execute(f"create table {staging} ({columns})")
            cursor.copy_expert(f"copy {staging} from stdin with (format csv, null '\\N')", _csv(data))
            cursor.execute(f"drop table if exists {GOLD_SCHEMA}.{table}")
            cursor.execute(f"alter table {staging} rename to {table}")
            rows[table] = data.num_rows
    con.commit()

    def fetch(sql: str) -> tuple[Any, ...] | None:
        with con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()

    checks = reconcile(fetch, set(tables)) if reconcile_totals else {}
    con.rollback()
    return GoldLoad("postgres", round(time.perf_counter() - started, 3), rows, checks)


def _read_gold(folder: Path | Store) -> pa.Table:
    """A gold table with its hive partition columns as plain strings (as DuckDB loads them)."""
    if isinstance(folder, Store):
        dataset = ds.dataset(folder.root, format="parquet", partitioning="hive", filesystem=folder.fs)
    else:
        dataset = ds.dataset(folder, format="parquet", partitioning="hive")
    table = dataset.to_table()
    for index, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(index, f.name, pc.cast(table.column(index), pa.string()))
    return table


def _pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_int32(arrow_type) or pa.types.is_int16(arrow_type):
        return "integer"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    return "text"


def _csv(table: pa.Table) -> io.StringIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table.to_pylist():
        writer.writerow(["\\N" if v is None else v for v in row.values()])
    buffer.seek(0)
    return buffer


_STATUSES = ", ".join(f"'{s}'" for s in EXCLUDED_STATUSES)
CHECKS: dict[str, tuple[str, str, str]] = {
    # name: (gold table it needs, gold total, silver total)
    "sales_daily.revenue": (
        "sales_daily",
        "select sum(revenue) from gold.sales_daily",
        "select sum(i.price) from silver.order_items i join silver.orders o on o.order_id = i.order_id",
    ),
    "sales_daily.freight": (
        "sales_daily",
        "select sum(freight) from gold.sales_daily",
        "select sum(i.freight_value) from silver.order_items i "
        "join silver.orders o on o.order_id = i.order_id",
    ),
    "sales_daily.items": (
        "sales_daily",
        "select sum(items) from gold.sales_daily",
        "select count(*) from silver.order_items i join silver.orders o on o.order_id = i.order_id",
    ),
    "seller_scorecard.revenue": (
        "seller_scorecard",
        "select sum(revenue) from gold.seller_scorecard",
        "select sum(i.price) from silver.order_items i join silver.orders o on o.order_id = i.order_id",
    ),
    "customer_rfm.orders": (
        "customer_rfm",
        "select sum(frequency) from gold.customer_rfm",
        "select count(*) from silver.orders o join silver.customers c on c.customer_token = o.customer_token "
        f"where o.order_status not in ({_STATUSES}) and o.purchased_at is not null",
    ),
    "customer_rfm.monetary": (
        "customer_rfm",
        "select sum(monetary) from gold.customer_rfm",
        "select coalesce(sum(i.price + i.freight_value), 0) from silver.order_items i "
        "join silver.orders o on o.order_id = i.order_id "
        "join silver.customers c on c.customer_token = o.customer_token "
        f"where o.order_status not in ({_STATUSES}) and o.purchased_at is not null",
    ),
}


def reconcile(fetch: Callable[[str], tuple[Any, ...] | None], loaded: set[str]) -> dict[str, tuple[Any, Any]]:
    """Every check whose gold table was loaded: gold total == silver total, exactly (Decimal cents)."""
    results: dict[str, tuple[Any, Any]] = {}
    failures = []
    for name, (table, gold_sql, silver_sql) in CHECKS.items():
        if table not in loaded:
            continue
        gold, silver = _number(fetch(gold_sql)), _number(fetch(silver_sql))
        results[name] = (gold, silver)
        if gold != silver:
            failures.append(f"{name}: gold {gold} != silver {silver}")
    if failures:
        raise ReconciliationError("gold does not reconcile with silver: " + "; ".join(failures))
    return results


def _number(row: tuple[Any, ...] | None) -> Decimal:
    value = row[0] if row else None
    return Decimal(0) if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _count(row: tuple[Any, ...] | None) -> int:
    return int(row[0]) if row else 0


def describe(load: GoldLoad) -> list[str]:
    return [f"{name}: {gold} = {silver}" for name, (gold, silver) in load.checks.items()]


__all__ = [
    "GOLD_SCHEMA",
    "GoldLoad",
    "ReconciliationError",
    "describe",
    "gold_table_rows",
    "gold_tables",
    "load_gold_duckdb",
    "load_gold_postgres",
    "reconcile",
    "store_gold_tables",
]
