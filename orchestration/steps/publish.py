"""The publish step: make the tested marts (and gold) visible to readers in one atomic step."""

from __future__ import annotations

from contextlib import closing
from functools import partial

from orchestration.graph import StepContext, StepResult, TableCount
from orchestration.lock import state_lock
from orchestration.steps.assets import MARTS_PUBLISHED
from orchestration.warehouse.publish import (
    duckdb_row_counts,
    postgres_row_counts,
    publish_duckdb,
    publish_postgres,
)
from orchestration.warehouse.schemas import GOLD_SCHEMA, PUBLISHED_SCHEMA


def publish_marts(ctx: StepContext) -> StepResult:
    """Make the tested marts visible to readers in one atomic step (write, audit, publish), holding the
    state directory's lock (re-entered under `cofre run`; under Airflow it waits for a run that holds it)."""
    with state_lock(ctx.settings.home, "publish", run_id=ctx.run_id, wait=True):
        return _publish(ctx)


def _publish(ctx: StepContext) -> StepResult:
    s = ctx.settings
    if s.target == "duckdb":
        # The published file carries the gold aggregates too, so readers open one file.
        schemas = (PUBLISHED_SCHEMA, GOLD_SCHEMA)
        publish_duckdb(s.warehouse_path, s.published_path, schemas)
        counts, where = duckdb_row_counts(s.published_path, schemas), str(s.published_path)
    else:
        services = ctx.services
        readers = partial(services.grant_reader, grants={PUBLISHED_SCHEMA: None, GOLD_SCHEMA: None})
        with closing(services.warehouse.connect_postgres()) as con:
            publish_postgres(con, readers=readers)
            counts = {f"{PUBLISHED_SCHEMA}.{t}": n for t, n in postgres_row_counts(con).items()}
        where = f"{ctx.services.warehouse.describe()}#{PUBLISHED_SCHEMA}"
    ctx.services.audit.record("marts.publish", target=where, details={"run_id": ctx.run_id, "rows": counts})
    return StepResult(
        counts=[TableCount("published", t, n) for t, n in counts.items()], outputs={MARTS_PUBLISHED: where}
    )
