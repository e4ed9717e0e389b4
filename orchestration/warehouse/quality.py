"""What the data-quality models of the dbt project found, read back for the run summary and the ops
tables: facts whose customer, product or seller was not in the delivery (kept, mapped to the dimension's
unknown member: `quality.fact_orphans`). Counts only: never a key or a value of personal data."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import duckdb

from orchestration.settings import Settings
from orchestration.warehouse.connection import Warehouse

ORPHANS_QUERY = (
    "select fact_table, dimension, orphan_rows, orphan_amount_brl from quality.fact_orphans "
    "where orphan_rows > 0 order by fact_table, dimension"
)


@dataclass(frozen=True)
class Orphans:
    fact_table: str
    dimension: str
    rows: int
    amount_brl: float | None  # None for facts without money (reviews)

    def describe(self) -> str:
        money = f", R$ {self.amount_brl:,.2f}" if self.amount_brl is not None else ""
        return f"{self.fact_table}->{self.dimension}: {self.rows:,} rows{money}"


def fact_orphans(settings: Settings, warehouse: Warehouse) -> list[Orphans]:
    """The facts mapped to an unknown member by the last marts build (empty when none were)."""
    if settings.target == "duckdb":
        with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
            rows = con.execute(ORPHANS_QUERY).fetchall()
    else:
        with closing(warehouse.connect_postgres()) as con, con.cursor() as cursor:
            cursor.execute(ORPHANS_QUERY)
            rows = cursor.fetchall()
    return [Orphans(str(f), str(d), int(n), float(a) if a is not None else None) for f, d, n, a in rows]
