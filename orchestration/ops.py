"""Operational tables in the warehouse's `ops` schema, for the dashboard and Grafana.

The audit trail file stays the source of truth (it is what `cofre audit verify` checks); `ops.audit_events`
is a mirror of it, extended incrementally by sequence number after each run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt

from orchestration.services import Services
from orchestration.settings import Settings


def mirror_audit(settings: Settings, services: Services) -> int:
    """Append the audit events the warehouse does not have yet; return how many were loaded."""

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

    pipeline = dlt.pipeline(
        pipeline_name="ops_audit",
        destination=services.warehouse.dlt_destination(),
        dataset_name="ops",
        pipelines_dir=str(settings.dlt_dir),
    )
    pipeline.run(audit_events())
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    return int(normalized.row_counts.get("audit_events", 0)) if normalized else 0
