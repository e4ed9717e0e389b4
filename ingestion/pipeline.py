"""Load a dlt source into the bronze lake, then project bronze into the raw schema of the warehouse.

Bronze is the system of record: the source is extracted once, written as immutable Parquet under a new
load id, and described by a write-once manifest. The warehouse's raw tables are then loaded from those
bronze files, so raw can always be rebuilt from bronze and never holds a row bronze does not. Both halves
are idempotent: a load that reached bronze but not raw (a crash in between) is picked up by the next run,
because raw keeps a ledger of the bronze loads it holds.

A run killed in the middle of a dlt load leaves a pending load package in the pipeline's working folder,
and dlt's `run` would load that package instead of the data it is given. Before every load, the pending
packages are aborted (`abort_packages`, which also rewinds the pipeline state, e.g. an incremental cursor)
and reported, so the data passed is always the data loaded. After every raw load, raw's row counts are
checked against the bronze manifests; only a load that matches is written to the ledger.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.destination import Destination, TLoaderFileFormat
from dlt.common.schema.typing import TTableSchemaColumns, TWriteDisposition
from dlt.common.storages.load_package import create_load_id
from dlt.destinations import filesystem
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from ingestion.errors import LakeError, PipelineBusyError, RawMismatchError
from ingestion.lake import BRONZE_LAYOUT, Lake, Manifest, Store
from ingestion.olist_source import QUARANTINE_TABLE

LEDGER_TABLE = "_cofre_bronze_loads"
BRONZE_LOAD_COLUMN = "_bronze_load_id"
# Rows a source could not parse, routed to `quarantine` with the file's table and line. In raw they are
# keyed by load: reloading a load after a crash never doubles them, and a new load of a table supersedes
# the rows of the load it replaces (see _supersede_quarantine).
QUARANTINE_KEY = (BRONZE_LOAD_COLUMN, "source_table", "line_number")
log = logging.getLogger(__name__)

# Raw replace loads go through staging tables swapped in one transaction, so a failed load leaves the
# previous raw tables exactly as they were (dlt's default truncates first).
dlt.config["destination.replace_strategy"] = "insert-from-staging"


@dataclass(frozen=True)
class TableHints:
    """How a table is written to raw, captured from the source's resource before bronze overrides it."""

    write_disposition: TWriteDisposition = "append"
    primary_key: tuple[str, ...] = ()
    columns: TTableSchemaColumns = field(default_factory=dict)


@dataclass(frozen=True)
class AbortedPackage:
    """A pending dlt load package found before a load and aborted, so that it is never loaded in place of
    the data of the current run. `dead_run` is True when the process that created it was killed (its
    owner record was never cleared); False when it was left by a run that failed with an error."""

    pipeline: str
    load_id: str
    state: str  # "extracted" (never normalized) or "normalized" (its load had started)
    dead_run: bool
    owner_pid: int | None = None
    owner_started_at: str | None = None


@dataclass
class LoadReport:
    source: str
    load_id: str | None
    bronze_rows: dict[str, int]
    raw_rows: dict[str, int]
    raw_loads: list[str]
    manifest: str | None  # URL of this load's manifest (file://… or s3://…)
    unchanged: list[str] = field(default_factory=list)  # tables whose input was already in bronze
    aborted: list[AbortedPackage] = field(default_factory=list)


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
    manifest of this load. Pending dlt packages of a failed or killed run are aborted first (listed in
    the report's `aborted`); raw's row counts are checked against the manifests (RawMismatchError).
    """
    hints = capture_hints(source)
    aborted: list[AbortedPackage] = []
    bronze = dlt.pipeline(
        pipeline_name=f"bronze_{source.name}",
        destination=filesystem(
            bucket_url=lake.layer_url("bronze"), credentials=lake.dlt_credentials(), layout=BRONZE_LAYOUT
        ),
        dataset_name=source.name,
        pipelines_dir=str(pipelines_dir),
    )
    raw = dlt.pipeline(
        pipeline_name=f"raw_{source.name}",
        destination=raw_destination,
        dataset_name=raw_dataset,
        pipelines_dir=str(pipelines_dir),
    )
    file_format: TLoaderFileFormat = "parquet" if raw_destination.destination_name == "duckdb" else "csv"
    # Both pipelines are owned for the whole ingestion: a second run of the source stops before it
    # writes anything, not after a bronze load.
    with owning(bronze, aborted), owning(raw, aborted):
        # Bronze only ever appends: a merge or replace there would rewrite objects of earlier loads.
        info = bronze.run(source, loader_file_format="parquet", write_disposition="append")
        load_id = info.loads_ids[-1] if info.loads_ids else None
        if load_id is None and (described := inputs()):
            # Nothing new to extract (every input unchanged): dlt makes no load, but the run still gets a
            # manifest, without objects, that records its inputs and what they were found to be.
            load_id = create_load_id()
            lake.write_manifest(source.name, load_id, described)
        manifests = _complete_manifests(lake, source.name, current=load_id, inputs=inputs)

        loaded = _ledger(raw)
        pending = [m for m in manifests if m.load_id not in loaded and m.objects]
        _refuse_archived(lake, pending)
        holders = _holders(manifests, hints)
        for manifest in pending:
            _load_raw(raw, lake, manifest, hints, holders, file_format)
            loaded.add(manifest.load_id)
        check_raw(raw, [m for m in manifests if m.load_id in loaded], hints)

    this_load = next((m for m in manifests if m.load_id == load_id), None)
    return LoadReport(
        source=source.name,
        load_id=load_id,
        bronze_rows=this_load.rows_by_table() if this_load else {},
        raw_rows=_raw_counts(raw, sorted({t for m in manifests for t in m.rows_by_table()})),
        raw_loads=[m.load_id for m in pending],
        manifest=lake.manifest_url(source.name, this_load.load_id) if this_load else None,
        unchanged=sorted(
            str(i["table"]) for i in (this_load.inputs if this_load else []) if i.get("status") == "unchanged"
        ),
        aborted=aborted,
    )


# -- pending packages of failed or killed runs -------------------------------------------------------------


def _owner_file(pipeline: dlt.Pipeline) -> Path:
    return Path(pipeline.pipelines_dir) / f".{pipeline.pipeline_name}.owner.json"


@contextmanager
def owning(pipeline: dlt.Pipeline, aborted: list[AbortedPackage]) -> Iterator[None]:
    """Run a block as the only user of `pipeline`: refuse if another process is using it
    (PipelineBusyError), abort the pending packages a failed or killed run left (appended to `aborted`),
    and name this process as the owner until the block ends.

    The owner file `<pipelines_dir>/.<pipeline>.owner.json` is held with an exclusive `flock`, which the
    kernel releases when its process dies, so a held lock always means a live owner. The file's content
    (pid, host, start) is cleared when a block ends, even on an error: content left in a file nobody
    holds was written by a process that was killed, and its packages belong to a dead run.
    """
    marker = _owner_file(pipeline)
    marker.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(marker, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd) or {}
            raise PipelineBusyError(
                f"the dlt pipeline {pipeline.pipeline_name} is in use by process {owner.get('pid', '?')} "
                f"(started {owner.get('started_at', '?')}): wait for it to finish or stop it; a live run's "
                "load is never aborted"
            ) from None
        abort_pending(pipeline, aborted, _read_owner(fd))
        _write_owner(
            fd,
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        try:
            yield
        finally:
            _write_owner(fd, None)
    finally:
        os.close(fd)  # releases the lock


def _read_owner(fd: int) -> dict[str, Any] | None:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        data = json.loads(os.read(fd, 1 << 16) or b"null")
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def _write_owner(fd: int, owner: dict[str, Any] | None) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    if owner is not None:
        os.write(fd, json.dumps(owner).encode())
        os.fsync(fd)


def abort_pending(
    pipeline: dlt.Pipeline, aborted: list[AbortedPackage], owner: dict[str, Any] | None = None
) -> list[AbortedPackage]:
    """Abort every pending package of `pipeline` (dlt's `abort_packages`, which also rewinds the local
    pipeline state to before them), log each one and append it to `aborted`."""
    if not pipeline.has_pending_data and not pipeline.list_normalized_load_packages():
        return []
    normalized = list(pipeline.list_normalized_load_packages())
    extracted = [i for i in pipeline.list_extracted_load_packages() if i not in normalized]
    found = [
        AbortedPackage(
            pipeline=pipeline.pipeline_name,
            load_id=load_id,
            state=state,
            dead_run=owner is not None,
            owner_pid=int(owner["pid"]) if owner else None,
            owner_started_at=str(owner["started_at"]) if owner else None,
        )
        for state, ids in (("normalized", normalized), ("extracted", extracted))
        for load_id in ids
    ]
    for package in found:
        log.warning(
            "aborting pending load package %s of dlt pipeline %s (%s) left by %s; it is not loaded, "
            "the data of this run is",
            package.load_id,
            package.pipeline,
            package.state,
            f"killed process {package.owner_pid}" if package.dead_run else "a failed run",
        )
    pipeline.abort_packages()
    aborted.extend(found)
    return found


# -- raw ------------------------------------------------------------------------------------------------


def _holders(manifests: list[Manifest], hints: dict[str, TableHints]) -> dict[str, str]:
    """For each table a load replaces, the id of the latest load with rows of it: the load raw's rows of
    that table must come from (`manifests` oldest first)."""
    holders: dict[str, str] = {}
    for manifest in manifests:
        for table in manifest.rows_by_table():
            if _hints(hints, table).write_disposition == "replace":
                holders[table] = manifest.load_id
    return holders


def _load_raw(
    raw: dlt.Pipeline,
    lake: Lake,
    manifest: Manifest,
    hints: dict[str, TableHints],
    holders: dict[str, str],
    file_format: TLoaderFileFormat,
) -> None:
    """Load one bronze load into raw, check it, then record it in the ledger: a load whose data did not
    all arrive (a crash, a mismatch) is not in the ledger, so the next run loads it again.

    A table a later load replaces again is skipped (with its quarantined rows): raw only ever receives,
    for such a table, the rows of its latest load, even when an older load is (re)loaded after a newer one.
    """
    present = manifest.rows_by_table()
    replaced = {t for t in present if holders.get(t) == manifest.load_id}
    tables = {
        t
        for t in present
        if t in replaced
        or (t == QUARANTINE_TABLE and replaced)
        or (t != QUARANTINE_TABLE and _hints(hints, t).write_disposition != "replace")
    }
    distinct: dict[str, set[tuple[Any, ...]]] = {}
    if tables:
        resources = _raw_resources(lake, manifest, hints, tables, replaced, distinct)
        raw.run(resources, loader_file_format=file_format)
    _supersede_quarantine(raw, manifest.load_id, replaced)
    _check_load(raw, manifest, tables, hints, {t: len(keys) for t, keys in distinct.items()})
    ledger_row = {
        "load_id": manifest.load_id,
        "source": manifest.source,
        "tables": ",".join(sorted(tables)),
        "loaded_at": datetime.now(UTC),
    }
    raw.run(
        [dlt.resource([ledger_row], name=LEDGER_TABLE, write_disposition="merge", primary_key="load_id")],
        loader_file_format=file_format,
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


def _hints(hints: dict[str, TableHints], table: str) -> TableHints:
    if table == QUARANTINE_TABLE:
        return TableHints("merge", QUARANTINE_KEY)
    return hints.get(table, TableHints())  # other routed tables only ever append


def _raw_resources(
    lake: Lake,
    manifest: Manifest,
    hints: dict[str, TableHints],
    tables: set[str],
    quarantine_of: set[str],
    distinct: dict[str, set[tuple[Any, ...]]],
) -> list[DltResource]:
    """One resource per table to load; quarantined rows only of the tables in `quarantine_of`. The
    primary keys of merge tables are collected in `distinct` (a merge keeps one row per key, so that is
    the count raw must hold)."""
    store = lake.bronze(manifest.source)
    resources = []
    for table in sorted(tables):
        keys = [o.path for o in manifest.objects if o.table == table]
        table_hints = _hints(hints, table)
        key_columns = table_hints.primary_key if table_hints.write_disposition == "merge" else ()
        rows = _read_bronze(lake, store, keys, manifest.load_id)
        if table == QUARANTINE_TABLE:
            rows = _only_sources(rows, quarantine_of)
        if key_columns:
            rows = _collect_keys(rows, key_columns, distinct.setdefault(table, set()))
        resources.append(
            dlt.resource(
                rows,
                name=table,
                write_disposition=table_hints.write_disposition,
                primary_key=table_hints.primary_key,
                columns=table_hints.columns,
            )
        )
    return resources


def _read_bronze(lake: Lake, store: Store, keys: list[str], load_id: str) -> Iterator[pa.Table]:
    """Bronze Parquet read back through the lake's filesystem (local folder or S3), batch by batch."""
    for key in keys:
        for batch in lake.read_parquet_batches(store, key):
            table = pa.Table.from_batches([batch])
            yield table.append_column(BRONZE_LOAD_COLUMN, pa.array([load_id] * table.num_rows, pa.string()))


def _only_sources(batches: Iterator[pa.Table], sources: set[str]) -> Iterator[pa.Table]:
    allowed = pa.array(sorted(sources), pa.string())
    for batch in batches:
        yield batch.filter(pc.is_in(batch.column("source_table"), value_set=allowed))


def _collect_keys(
    batches: Iterator[pa.Table], columns: tuple[str, ...], seen: set[tuple[Any, ...]]
) -> Iterator[pa.Table]:
    for batch in batches:
        seen.update(zip(*(batch.column(c).to_pylist() for c in columns), strict=True))
        yield batch


def _supersede_quarantine(raw: dlt.Pipeline, load_id: str, tables: set[str]) -> None:
    """The quarantine of a table is that of the load its raw rows come from: when a load replaces a
    table, the quarantined rows of other loads of that table are deleted (they stay in bronze)."""
    if not tables:
        return
    with raw.sql_client() as client:
        try:
            client.execute_sql(
                f"delete from {client.make_qualified_table_name(QUARANTINE_TABLE)} "
                f"where {BRONZE_LOAD_COLUMN} <> %s and source_table in ({', '.join(['%s'] * len(tables))})",
                load_id,
                *sorted(tables),
            )
        except DatabaseUndefinedRelation:
            return


def _count(client: Any, table: str, load_id: str | None = None) -> int | None:
    """Rows of a raw table (of one bronze load when `load_id` is given); None if the table is absent."""
    sql = f"select count(*) from {client.make_qualified_table_name(table)}"
    args: tuple[str, ...] = ()
    if load_id is not None:
        sql, args = f"{sql} where {BRONZE_LOAD_COLUMN} = %s", (load_id,)
    try:
        rows = client.execute_sql(sql, *args)
    except DatabaseUndefinedRelation:
        return None
    return int(rows[0][0]) if rows else 0


def _check_load(
    raw: dlt.Pipeline,
    manifest: Manifest,
    tables: set[str],
    hints: dict[str, TableHints],
    distinct: dict[str, int],
) -> None:
    """Right after a load: raw holds, for each table loaded, exactly the rows bronze says the load has
    (one per key for a merge table, the rows kept for quarantine)."""
    rows = manifest.rows_by_table()
    problems = []
    with raw.sql_client() as client:
        for table in sorted(tables):
            expected = distinct.get(table, rows[table])
            found = _count(client, table, manifest.load_id)
            if found != expected:
                problems.append(f"{table}: {found} rows of load {manifest.load_id}, bronze has {expected}")
    _raise_mismatch(raw, problems)


def check_raw(raw: dlt.Pipeline, loaded: list[Manifest], hints: dict[str, TableHints]) -> None:
    """Every raw table that a load replaces holds exactly the rows of the latest bronze load of that table
    in the ledger (`loaded`, oldest first), and no other: raw is never reported on data it was not given.

    Raises RawMismatchError naming each table that differs, after taking the loads those tables should
    come from out of the ledger, so that the next run loads them again from bronze.
    """
    by_id = {m.load_id: m for m in loaded}
    problems, wrong = [], set()
    with raw.sql_client() as client:
        for table, load_id in sorted(_holders(loaded, hints).items()):
            expected = by_id[load_id].rows_by_table()[table]
            total, own = _count(client, table), _count(client, table, load_id)
            if total != expected or own != expected:
                wrong.add(load_id)
                problems.append(
                    f"{table}: {total} rows ({own} of load {load_id}), "
                    f"the bronze manifest of load {load_id} has {expected}"
                )
        if wrong:
            client.execute_sql(
                f"delete from {client.make_qualified_table_name(LEDGER_TABLE)} "
                f"where load_id in ({', '.join(['%s'] * len(wrong))})",
                *sorted(wrong),
            )
    _raise_mismatch(raw, problems)


def _raise_mismatch(raw: dlt.Pipeline, problems: list[str]) -> None:
    if problems:
        raise RawMismatchError(
            f"raw dataset {raw.dataset_name} does not hold the data of its bronze loads: "
            + "; ".join(problems)
            + ". The run must not report success on it. Run the ingestion again: a load that does not "
            "match is not (or no longer) recorded as loaded, so it is reloaded from bronze; if it fails "
            "again, run `cofre lake verify`."
        )


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
