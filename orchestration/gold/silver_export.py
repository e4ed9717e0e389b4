"""Publish the masked silver tables from the warehouse to the lake as Parquet, for Spark.

Layout (the same for the DuckDB and the PostgreSQL warehouse): `<lake>/silver/<table>/part-0.parquet`,
plus `<lake>/silver/_export.json` saying which run wrote what. Only the `silver` schema is exported (it
is masked by the dbt policy), and the monthly IPCA series (public data) as `silver/ipca`: Spark never
sees bronze or raw rows.

Each table is written into a staging folder of the run and then swapped in by renames, so a reader sees
the previous complete table or the new one; the export of a run is complete when `_export.json` names it.
On an S3 lake (a `Store` instead of a folder) each table is its one object, written straight to its final
key: an object appears whole when its upload completes (S3 has no rename; one object needs none).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.lake import Store
from orchestration.warehouse.schemas import SILVER_SCHEMA
from spark_jobs.contract import IPCA_TABLE, SILVER_TABLES

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PgConnection

IPCA_QUERY = "select month_start, ipca_pct from staging.stg_bcb__ipca"
"""The IPCA series is public (BCB), not personal data; Spark deflates revenue with it."""
EXPORT_MANIFEST = "_export.json"
STAGING = "_staging"
PART = "part-0.parquet"
_BATCH_ROWS = 50_000


@dataclass
class SilverExport:
    run_id: str
    target: str
    exported_at: str
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    location: str = ""


def _queries(tables: tuple[str, ...]) -> dict[str, str]:
    queries = {t: f"select * from {SILVER_SCHEMA}.{t}" for t in tables}
    queries[IPCA_TABLE] = IPCA_QUERY
    return queries


def export_silver_duckdb(
    warehouse_path: Path,
    silver_dir: Path | Store,
    *,
    run_id: str | None = None,
    tables: tuple[str, ...] = SILVER_TABLES,
) -> SilverExport:
    """DuckDB: `COPY (select ...) TO '<staging>/<table>/part-0.parquet' (FORMAT parquet)` per table; to
    an S3 store, Arrow batches of each query streamed into the table's object."""
    import duckdb

    started = time.perf_counter()
    run_id = run_id or uuid.uuid4().hex[:12]
    if isinstance(silver_dir, Store):
        con = duckdb.connect(str(warehouse_path), read_only=True)
        try:
            written = {
                table: _write_object(silver_dir, table, reader.schema, reader)
                for table, query in _queries(tables).items()
                for reader in [con.execute(query).fetch_record_batch(_BATCH_ROWS)]
            }
        finally:
            con.close()
        return _publish_store(silver_dir, run_id, "duckdb", written, started)
    staging = _staging_dir(silver_dir, run_id)
    rows: dict[str, int] = {}
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        for table, query in _queries(tables).items():
            out = staging / table / PART
            out.parent.mkdir(parents=True)
            con.execute(f"copy ({query}) to '{_sql_path(out)}' (format parquet, compression zstd)")
            rows[table] = pq.ParquetFile(out).metadata.num_rows
    finally:
        con.close()
    return _publish(silver_dir, staging, run_id, "duckdb", rows, started)


def export_silver_postgres(
    con: PgConnection,
    silver_dir: Path | Store,
    *,
    run_id: str | None = None,
    tables: tuple[str, ...] = SILVER_TABLES,
) -> SilverExport:
    """PostgreSQL: stream each table with a server-side cursor into Arrow batches and a Parquet file,
    with the column types taken from the catalog (numeric(p, s) stays decimal, so sums stay exact)."""
    started = time.perf_counter()
    run_id = run_id or uuid.uuid4().hex[:12]
    staging = None if isinstance(silver_dir, Store) else _staging_dir(silver_dir, run_id)
    rows: dict[str, int] = {}
    for table, query in _queries(tables).items():
        schema = _pg_arrow_schema(con, "staging" if table == IPCA_TABLE else SILVER_SCHEMA, _pg_source(table))
        if table == IPCA_TABLE:
            schema = pa.schema([schema.field("month_start"), schema.field("ipca_pct")])
        batches = _pg_batches(con, query, schema)
        if isinstance(silver_dir, Store):
            rows[table] = _write_object(silver_dir, table, schema, batches)
            continue
        assert staging is not None
        out = staging / table / PART
        out.parent.mkdir(parents=True)
        count = 0
        with pq.ParquetWriter(out, schema, compression="zstd") as writer:
            for batch in batches:
                writer.write_table(batch)
                count += batch.num_rows
        rows[table] = count
    con.rollback()  # read-only work: end the transaction the cursors opened
    if isinstance(silver_dir, Store):
        return _publish_store(silver_dir, run_id, "postgres", rows, started)
    assert staging is not None
    return _publish(silver_dir, staging, run_id, "postgres", rows, started)


def _write_object(store: Store, table: str, schema: pa.Schema, batches: Any) -> int:
    """Stream Arrow batches (tables or record batches) into `<table>/part-0.parquet` of an S3 store: the
    object replaces the previous one when its upload completes, never half-written."""
    count = 0
    with (
        store.fs.open(store.path(f"{table}/{PART}"), "wb") as handle,
        pq.ParquetWriter(handle, schema, compression="zstd") as writer,
    ):
        for batch in batches:
            data = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch], schema)
            writer.write_table(data)
            count += data.num_rows
    return count


def _publish_store(
    store: Store, run_id: str, target: str, rows: dict[str, int], started: float
) -> SilverExport:
    """Record the export of an S3 store in its manifest (the tables' objects are already in place)."""
    export = SilverExport(
        run_id=run_id,
        target=target,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 3),
        rows=rows,
        location=store.url,
    )
    store.put(EXPORT_MANIFEST, json.dumps(asdict(export), indent=2, sort_keys=True).encode("utf-8"))
    return export


def _pg_source(table: str) -> str:
    return "stg_bcb__ipca" if table == IPCA_TABLE else table


def _pg_batches(con: PgConnection, query: str, schema: pa.Schema) -> Iterator[pa.Table]:
    with con.cursor(name=f"cofre_export_{uuid.uuid4().hex[:8]}") as cursor:
        cursor.itersize = _BATCH_ROWS
        cursor.execute(query)
        while True:
            chunk = cursor.fetchmany(_BATCH_ROWS)  # a named cursor describes its columns after a fetch
            if not chunk:
                break
            names = [d[0] for d in cursor.description or ()]
            columns = list(zip(*chunk, strict=True))
            arrays = [
                pa.array(col, type=schema.field(name).type) for name, col in zip(names, columns, strict=True)
            ]
            yield pa.Table.from_arrays(arrays, schema=schema)


_PG_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "bigint": pa.int64(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "text": pa.string(),
    "character varying": pa.string(),
    "character": pa.string(),
}


def _pg_arrow_schema(con: PgConnection, schema: str, table: str) -> pa.Schema:
    with con.cursor() as cursor:
        cursor.execute(
            "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        )
        columns = cursor.fetchall()
    if not columns:
        raise LookupError(f"{schema}.{table} does not exist in the warehouse: run the dbt build first")
    fields = []
    for name, data_type, precision, scale in columns:
        if data_type == "numeric":
            arrow_type: pa.DataType = pa.decimal128(precision or 38, scale if precision else 9)
        else:
            arrow_type = _PG_TYPES.get(data_type, pa.string())
        fields.append(pa.field(name, arrow_type))
    return pa.schema(fields)


def _staging_dir(silver_dir: Path, run_id: str) -> Path:
    staging = silver_dir / STAGING / run_id
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def _publish(
    silver_dir: Path, staging: Path, run_id: str, target: str, rows: dict[str, int], started: float
) -> SilverExport:
    """Swap every staged table in (rename aside, rename in, delete aside), then write the manifest."""
    for table in rows:
        swap_dir(staging / table, silver_dir / table)
    shutil.rmtree(staging, ignore_errors=True)
    _remove_if_empty(silver_dir / STAGING)
    export = SilverExport(
        run_id=run_id,
        target=target,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 3),
        rows=rows,
        location=str(silver_dir),
    )
    write_json_atomic(silver_dir / EXPORT_MANIFEST, asdict(export))
    return export


def swap_dir(new: Path, target: Path) -> None:
    """Replace the folder `target` by `new` (same filesystem) with renames; the old one is deleted."""
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    had_old = target.exists()
    if had_old:
        target.rename(aside)
    try:
        new.rename(target)
    except OSError:
        if had_old:
            aside.rename(target)
        raise
    if had_old:
        shutil.rmtree(aside)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _remove_if_empty(path: Path) -> None:
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
