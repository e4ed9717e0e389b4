"""Load a dlt source into the bronze lake, then project bronze into the raw schema of the warehouse.

Bronze is the system of record: the source is extracted once, written as immutable Parquet under a new
load id, and described by a write-once manifest. The warehouse's raw tables are then loaded from those
bronze files, so raw can always be rebuilt from bronze and never holds a row bronze does not. Both halves
are idempotent: a load that reached bronze but not raw (a crash in between) is picked up by the next run,
because raw keeps a ledger of the bronze loads it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import dlt
import pyarrow as pa
from dlt.common.destination import Destination, TLoaderFileFormat
from dlt.common.schema.typing import TTableSchemaColumns, TWriteDisposition
from dlt.destinations import filesystem
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from ingestion.errors import LakeError
from ingestion.lake import BRONZE_LAYOUT, Lake, Manifest, Store

LEDGER_TABLE = "_cofre_bronze_loads"
BRONZE_LOAD_COLUMN = "_bronze_load_id"

# Raw replace loads go through staging tables swapped in one transaction, so a failed load leaves the
# previous raw tables exactly as they were (dlt's default truncates first).
dlt.config["destination.replace_strategy"] = "insert-from-staging"


@dataclass(frozen=True)
class TableHints:
    """How a table is written to raw, captured from the source's resource before bronze overrides it."""

    write_disposition: TWriteDisposition = "append"
    primary_key: tuple[str, ...] = ()
    columns: TTableSchemaColumns = field(default_factory=dict)


@dataclass
class LoadReport:
    source: str
    load_id: str | None
    bronze_rows: dict[str, int]
    raw_rows: dict[str, int]
    raw_loads: list[str]
    manifest: str | None  # URL of this load's manifest (file://… or s3://…)


def capture_hints(source: DltSource) -> dict[str, TableHints]:
    """Write disposition and key of each resource; column types from the resource or the source schema."""
    hints: dict[str, TableHints] = {}
    for name, resource in source.resources.items():
        table = resource.compute_table_schema()
        table_name = str(table.get("name") or name)
        declared = source.schema.tables[table_name]["columns"] if table_name in source.schema.tables else {}
        columns: TTableSchemaColumns = {**declared, **table.get("columns", {})}
        key = tuple(c for c, h in columns.items() if h.get("primary_key"))
        hints[table_name] = TableHints(cast(TWriteDisposition, resource.write_disposition), key, columns)
    return hints


def ingest(
    source: DltSource,
    *,
    lake: Lake,
    raw_destination: Destination,
    raw_dataset: str,
    pipelines_dir: Path,
    inputs: Callable[[], list[dict[str, Any]]] = list,
) -> LoadReport:
    """Extract `source` once into bronze, write its manifest, then load every pending bronze load into raw.

    `inputs` is called after extraction to describe the input files (checksums, lines, quarantine) in the
    manifest of this load.
    """
    hints = capture_hints(source)
    bronze = dlt.pipeline(
        pipeline_name=f"bronze_{source.name}",
        destination=filesystem(
            bucket_url=lake.layer_url("bronze"), credentials=lake.dlt_credentials(), layout=BRONZE_LAYOUT
        ),
        dataset_name=source.name,
        pipelines_dir=str(pipelines_dir),
    )
    # Bronze only ever appends: a merge or replace there would rewrite objects of earlier loads.
    info = bronze.run(source, loader_file_format="parquet", write_disposition="append")
    load_id = info.loads_ids[-1] if info.loads_ids else None
    manifests = _complete_manifests(lake, source.name, current=load_id, inputs=inputs)

    raw = dlt.pipeline(
        pipeline_name=f"raw_{source.name}",
        destination=raw_destination,
        dataset_name=raw_dataset,
        pipelines_dir=str(pipelines_dir),
    )
    loaded = _ledger(raw)
    pending = [m for m in manifests if m.load_id not in loaded and m.objects]
    _refuse_archived(lake, pending)
    file_format: TLoaderFileFormat = "parquet" if raw_destination.destination_name == "duckdb" else "csv"
    for manifest in pending:
        raw.run(_raw_resources(lake, manifest, hints), loader_file_format=file_format)

    this_load = next((m for m in manifests if m.load_id == load_id), None)
    return LoadReport(
        source=source.name,
        load_id=load_id,
        bronze_rows=this_load.rows_by_table() if this_load else {},
        raw_rows=_raw_counts(raw, sorted({t for m in manifests for t in m.rows_by_table()})),
        raw_loads=[m.load_id for m in pending],
        manifest=lake.manifest_url(source.name, this_load.load_id) if this_load else None,
    )


def _complete_manifests(
    lake: Lake, source: str, current: str | None, inputs: Callable[[], list[dict[str, Any]]]
) -> list[Manifest]:
    """Every manifest of the source, oldest first, after writing those that are missing: this run's, or
    one whose run died before writing it. Read once per ingest (on S3 each read is a request)."""
    manifests = {m.load_id: m for m in lake.manifests(source)}
    for load_id in lake.load_ids(source):
        if load_id not in manifests:
            manifests[load_id] = lake.write_manifest(source, load_id, inputs() if load_id == current else [])
    return sorted(manifests.values(), key=lambda m: float(m.load_id))


def _ledger(raw: dlt.Pipeline) -> set[str]:
    try:
        with raw.sql_client() as client:
            rows = client.execute_sql(f"select load_id from {client.make_qualified_table_name(LEDGER_TABLE)}")
    except DatabaseUndefinedRelation:
        return set()
    return {row[0] for row in rows or []}


def _refuse_archived(lake: Lake, pending: list[Manifest]) -> None:
    """A load not yet in raw must still be in bronze: raw is rebuilt from bronze, never from cold."""
    for manifest in pending:
        present = lake.load_objects(manifest.source, manifest.load_id)
        missing = [o.path for o in manifest.objects if o.path not in present]
        if missing:
            raise LakeError(
                f"load {manifest.load_id} of {manifest.source} is not in raw yet, but {len(missing)} of its "
                f"bronze objects are missing (first: {missing[0]}). If it was moved to cold storage, run "
                f"`cofre lifecycle restore {manifest.load_id}`; otherwise run `cofre lake verify`."
            )


def _raw_resources(lake: Lake, manifest: Manifest, hints: dict[str, TableHints]) -> list[DltResource]:
    store = lake.bronze(manifest.source)
    tables = sorted({o.table for o in manifest.objects})
    resources = []
    for table in tables:
        keys = [o.path for o in manifest.objects if o.table == table]
        table_hints = hints.get(table, TableHints())  # routed tables (quarantine) only ever append
        resources.append(
            dlt.resource(
                _read_bronze(lake, store, keys, manifest.load_id),
                name=table,
                write_disposition=table_hints.write_disposition,
                primary_key=table_hints.primary_key,
                columns=table_hints.columns,
            )
        )
    ledger_row = {
        "load_id": manifest.load_id,
        "source": manifest.source,
        "tables": ",".join(tables),
        "loaded_at": datetime.now(UTC),
    }
    resources.append(
        dlt.resource([ledger_row], name=LEDGER_TABLE, write_disposition="merge", primary_key="load_id")
    )
    return resources


def _read_bronze(lake: Lake, store: Store, keys: list[str], load_id: str) -> Iterator[pa.Table]:
    """Bronze Parquet read back through the lake's filesystem (local folder or S3), batch by batch."""
    for key in keys:
        for batch in lake.read_parquet_batches(store, key):
            table = pa.Table.from_batches([batch])
            yield table.append_column(BRONZE_LOAD_COLUMN, pa.array([load_id] * table.num_rows, pa.string()))


def _raw_counts(raw: dlt.Pipeline, tables: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with raw.sql_client() as client:
        for table in tables:
            try:
                rows = client.execute_sql(f"select count(*) from {client.make_qualified_table_name(table)}")
            except DatabaseUndefinedRelation:
                continue
            counts[table] = int(rows[0][0]) if rows else 0
    return counts
