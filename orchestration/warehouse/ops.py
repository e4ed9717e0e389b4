"""Operational tables in the warehouse's `ops` schema, for the dashboard's operations page and Grafana.

After every run (failed ones included) `record_run` loads, in one dlt load:
- `ops.pipeline_runs`: one row per run and step (status, seconds, rows), merged by (run_id, step);
- `ops.audit_events`: the audit trail mirrored incrementally by sequence number (the file stays the
  source of truth: it is what `cofre audit verify` checks);
- `ops.audit_checks`: the result of verifying the whole trail at the end of the run, so readers who may
  not hold the audit key can still see whether the trail was intact.
Then it makes them readable: on PostgreSQL by granting the reader role SELECT on these three tables; on
DuckDB by republishing them into their own small file (readers never open the pipeline's file).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import dlt

from ingestion.pipeline import AbortedPackage, owning
from orchestration.runner import RunRecord, pipeline_run_rows
from orchestration.services import Services
from orchestration.settings import Settings
from orchestration.warehouse.publish import publish_duckdb_flat
from orchestration.warehouse.schemas import OPS_SCHEMA

OPS_TABLES = ("pipeline_runs", "audit_events", "audit_checks")
"""The ops tables this module loads after every run."""
READER_TABLES = (*OPS_TABLES, "privacy_checks")
"""What readers (the dashboard's operations page, Grafana) see of `ops`: the run history, the audit
mirror and its checks, and the privacy gate's results (written by warehouse/privacy.py at publish)."""


def record_run(settings: Settings, services: Services, record: RunRecord) -> dict[str, int]:
    """Load the run, the new audit events and a fresh verification of the trail into `ops`, then
    publish them to readers. Returns rows loaded per table."""
    check = services.audit.verify()
    check_row = {
        "run_id": record.run_id,
        "checked_at": datetime.now(UTC).isoformat(),
        "ok": check.ok,
        "events": check.events,
        "reason": check.reason,
        "seq": check.seq,
    }
    pipeline = dlt.pipeline(
        pipeline_name="ops",
        destination=services.warehouse.dlt_destination(),
        dataset_name=OPS_SCHEMA,
        pipelines_dir=str(settings.dlt_dir),
    )
    aborted: list[AbortedPackage] = []  # a killed run's pending ops load is never loaded instead
    with owning(pipeline, aborted):
        _load(pipeline, record, services, check_row)
    trace = pipeline.last_trace
    normalized = trace.last_normalize_info if trace else None
    loaded = {t: int(normalized.row_counts.get(t, 0)) for t in OPS_TABLES} if normalized else {}
    _publish(settings, services)
    return loaded


def _load(pipeline: dlt.Pipeline, record: RunRecord, services: Services, check_row: dict[str, Any]) -> None:
    pipeline.run(
        [
            dlt.resource(
                pipeline_run_rows(record),
                name="pipeline_runs",
                primary_key=("run_id", "step"),
                write_disposition="merge",
                columns={
                    "row_counts": {"data_type": "json"},
                    "error": {"data_type": "text", "nullable": True},
                },
            ),
            _audit_events(services),
            dlt.resource(
                [check_row],
                name="audit_checks",
                primary_key="run_id",
                write_disposition="merge",
                columns={
                    "reason": {"data_type": "text", "nullable": True},
                    "seq": {"data_type": "bigint", "nullable": True},
                },
            ),
        ]
    )


def _audit_events(services: Services) -> Any:
    @dlt.resource(
        name="audit_events",
        primary_key="seq",
        write_disposition="merge",
        columns={"details": {"data_type": "json"}},
    )
    def audit_events(
        seq: Any = dlt.sources.incremental("seq", initial_value=0),  # noqa: B008 (dlt idiom)
    ) -> Iterator[dict[str, Any]]:
        yield from (event for event in services.audit.events() if event["seq"] > seq.start_value)

    return audit_events()


def _publish(settings: Settings, services: Services) -> None:
    if settings.target == "duckdb":
        publish_duckdb_flat(settings.warehouse_path, settings.published_ops_path, OPS_SCHEMA, READER_TABLES)
        return
    with closing(services.warehouse.connect_postgres()) as con, con, con.cursor() as cursor:
        cursor.execute(
            "select table_name from information_schema.tables where table_schema = %s", (OPS_SCHEMA,)
        )
        present = {row[0] for row in cursor.fetchall()}
        services.grant_reader(cursor, {OPS_SCHEMA: [t for t in READER_TABLES if t in present]})
