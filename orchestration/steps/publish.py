"""The publish step: make the tested marts (and gold) visible to readers in one atomic step."""

from __future__ import annotations

from contextlib import closing
from functools import partial

from orchestration.graph import StepContext, StepResult, TableCount
from orchestration.lock import state_lock
from orchestration.steps.assets import MARTS_PUBLISHED
from orchestration.warehouse import privacy
from orchestration.warehouse.publish import (
    duckdb_row_counts,
    postgres_row_counts,
    publish_duckdb,
    publish_postgres,
)
from orchestration.warehouse.schemas import GOLD_SCHEMA, OPS_SCHEMA, PUBLISHED_SCHEMA, marts_build_schema


def publish_marts(ctx: StepContext) -> StepResult:
    """Make the tested marts visible to readers in one atomic step (write, audit, publish), once the
    privacy gate has measured them, holding the state directory's lock (re-entered under `cofre run`;
    under Airflow it waits for a run that holds it)."""
    with state_lock(ctx.settings.home, "publish", run_id=ctx.run_id, wait=True):
        return _publish(ctx)


def _publish(ctx: StepContext) -> StepResult:
    results = privacy_gate(ctx)
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
        counts=[TableCount("published", t, n) for t, n in counts.items()],
        outputs={MARTS_PUBLISHED: where},
        notes=[f"privacy gate: {len(results)} quasi-identifier sets, smallest k {_smallest_k(results)}"],
    )


def _smallest_k(results: list[privacy.KResult]) -> int:
    return min((r.k for r in results), default=0)


def privacy_gate(ctx: StepContext) -> list[privacy.KResult]:
    """The k-anonymity gate (orchestration/warehouse/privacy.py) on the built marts: recorded in
    `ops.privacy_checks` and as a `gate.result` audit event every run; below the policy it raises
    PrivacyGateFailed, so nothing is published and readers keep the previous marts."""
    s = ctx.settings
    policy = privacy.load_policy(s.privacy_policy)
    schema = marts_build_schema(s.target)
    if s.target == "duckdb":
        results = privacy.measure_duckdb(s.warehouse_path, policy, schema)
        privacy.record_duckdb(s.warehouse_path, OPS_SCHEMA, privacy.check_rows(ctx.run_id, results))
    else:
        with closing(ctx.services.warehouse.connect_postgres()) as con:
            results = privacy.measure_postgres(con, policy, schema)
            privacy.record_postgres(con, OPS_SCHEMA, privacy.check_rows(ctx.run_id, results))
    failed = privacy.failures(results)
    ctx.services.audit.record(
        "gate.result",
        target=f"privacy k-anonymity {s.target}",
        outcome="failure" if failed else "success",
        details={**privacy.audit_details(ctx.run_id, results), "policy": policy.source},
    )
    privacy.check(results)
    return results
