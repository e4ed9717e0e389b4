"""The dbt steps: `dbt build` of staging and masked silver (before Spark), and of the star-schema marts
(after gold is loaded), each with its tests: the quality gates of write-audit-publish."""

from __future__ import annotations

import logging
import re

from orchestration.graph import ProgressTask, StepContext, StepResult, TableCount
from orchestration.steps.assets import MARTS_BUILT, SILVER_BUILT
from orchestration.warehouse.dbt import DbtRun, run_dbt
from orchestration.warehouse.dbt_project import STEP_SELECTION, Selection, build_args
from orchestration.warehouse.quality import fact_orphans
from orchestration.warehouse.schemas import marts_build_schema

_DBT_PROGRESS = re.compile(r"\b(\d+) of (\d+) ")
log = logging.getLogger(__name__)


class QualityGateFailed(RuntimeError):
    """An error-severity dbt test (or a model) failed: nothing is published."""


def transform_silver(ctx: StepContext) -> StepResult:
    """`dbt build` of seeds, staging and masked silver, each followed by its tests (the first quality
    gates): what Spark reads is tested before it is exported to the lake."""
    run = _dbt_build(ctx, "silver", STEP_SELECTION["transform_silver"])
    return StepResult(
        outputs={SILVER_BUILT: f"{ctx.services.warehouse.describe()}#silver"},
        notes=[f"dbt build silver {run.seconds:.0f} s", *_warned(run)],
    )


def transform_marts(ctx: StepContext) -> StepResult:
    """`dbt build` of the star-schema marts and their tests (and the tests of Spark's gold sources).

    On PostgreSQL the marts are built into a separate schema and published by the next step; on DuckDB
    they are built in the pipeline's own file, which no reader opens.
    """
    s = ctx.settings
    run = _dbt_build(ctx, "marts", STEP_SELECTION["transform_marts"])
    # Late-arriving dimensions: facts kept on the unknown member, counted in the summary and ops tables.
    orphans = fact_orphans(s, ctx.services.warehouse)
    return StepResult(
        counts=[TableCount("orphans", f"{o.fact_table}->{o.dimension}", o.rows) for o in orphans],
        outputs={MARTS_BUILT: f"{ctx.services.warehouse.describe()}#{marts_build_schema(s.target)}"},
        notes=[
            f"dbt build marts {run.seconds:.0f} s",
            *(f"unknown member: {o.describe()}" for o in orphans),
            *_warned(run),
        ],
    )


def _warned(run: DbtRun) -> list[str]:
    return [f"warning: {warning}" for warning in run.warnings]


def _dbt_build(ctx: StepContext, layer: str, selection: Selection) -> DbtRun:
    """One `dbt build` of a layer; its test results are a `gate.result` audit event, and a failed
    error-severity test (or model) raises QualityGateFailed, so nothing downstream runs."""
    s = ctx.settings
    task = ctx.reporter.task(f"dbt build {layer}: models and tests", total=None, unit="nodes")
    run = run_dbt(
        build_args(selection, s.target),
        s,
        ctx.services.vault,
        on_line=lambda line: _dbt_progress(line, task),
    )
    ctx.services.audit.record(
        "gate.result",
        target=f"dbt build {layer} {s.target}",
        outcome="success" if run.success else "failure",
        details={
            "run_id": ctx.run_id,
            "seconds": round(run.seconds, 1),
            "failures": run.failures,
            "warnings": run.warnings,
        },
    )
    if not run.success:
        raise QualityGateFailed("quality gates failed, nothing published: " + "; ".join(run.failures))
    return run


def _dbt_progress(line: str, task: ProgressTask) -> None:
    log.info("dbt: %s", line)
    match = _DBT_PROGRESS.search(line)
    if match:
        task.update(int(match.group(1)), total=int(match.group(2)))
