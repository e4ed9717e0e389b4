"""The ELT DAG's tasks: each Airflow task runs ONE step of THE step graph (orchestration/steps) through
`run_step`, with settings read from COFRE_* at the task's edge and services built per task, exactly as
the embedded runner builds them; the two dbt steps become Cosmos task groups (`dbt_group`); a teardown
task records the run in the ops tables as `cofre run` does.

Heavy imports (dlt, dbt, Cosmos) happen inside functions, and the DAG file reads the step graph's shape
from a snapshot (`manifest.graph_snapshot`), so it parses in well under a second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestration.airflow.dbt_group import dbt_task_group
from orchestration.airflow.defaults import DBT_STEPS, load_settings
from orchestration.airflow.manifest import graph_snapshot
from orchestration.environment import prepare_process
from orchestration.errors import describe_error
from orchestration.settings import Settings

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from orchestration.graph import ProgressTask, StepGraph

log = logging.getLogger(__name__)


class _LogTask:
    def __init__(self, description: str, total: int | None) -> None:
        self.description, self.total, self.completed = description, total, 0
        self._last = 0.0

    def advance(self, amount: int = 1) -> None:
        self.update(self.completed + amount)

    def update(self, completed: int, total: int | None = None) -> None:
        self.completed = completed
        self.total = total if total is not None else self.total
        now = time.monotonic()
        if now - self._last >= 5:  # a line every few seconds, not one per row
            self._last = now
            of = f" of {self.total:,}" if self.total else ""
            log.info("%s: %s%s", self.description, f"{completed:,}", of)


class LogReporter:
    """graph.Reporter as log lines: under Airflow, progress goes to the task log."""

    def task(self, description: str, total: int | None = None, unit: str = "rows") -> ProgressTask:
        log.info("%s", description)
        return _LogTask(f"{description} ({unit})", total)

    def finish_tasks(self) -> None:
        """Nothing keeps running in a log: each task logs its own lines."""

    def log(self, message: str) -> None:
        log.info("%s", message)


def cofre_run_id(dag_run_id: str) -> str:
    """The run id steps and the audit trail see: Airflow's, marked as such."""
    return f"airflow:{dag_run_id}"


def run_step(name: str, *, run_id: str, graph: StepGraph | None = None) -> dict[str, Any]:
    """Run step `name` of the step graph, as the embedded runner does, and return what it produced
    (counts, outputs, notes; small enough for XCom). A failure raises, so Airflow retries the task."""
    settings = load_settings()
    prepare_process(settings, log_file=False)
    from orchestration.graph import StepContext
    from orchestration.lineage import observe
    from orchestration.services import build_services
    from orchestration.steps import PIPELINE

    graph = graph or PIPELINE
    services = build_services(settings, actor="airflow")
    # OpenLineage events of the step, as the embedded runner emits them (the run's own are not: one task)
    step = observe([graph[name]], settings, run_events=False)[0]
    context = StepContext(settings=settings, run_id=run_id, reporter=LogReporter(), services=services)
    started = time.perf_counter()
    try:
        result = step.run(context)
    except Exception as error:
        services.audit.record(
            "step.run",
            target=f"{run_id}/{name}",
            outcome="failure",
            details={"error": describe_error(error), "orchestrator": "airflow"},
        )
        raise
    summary = asdict(result)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


RECORD_TASK = "record_run"
_STEP_STATUS = {"success": "succeeded", "skipped": "succeeded", "failed": "failed"}


def record_airflow_run(
    graph: StepGraph,
    *,
    run_id: str,
    started_at: datetime | None,
    task_outcomes: Iterable[Mapping[str, Any]],
    results: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, int]:
    """Write an Airflow run to the ops tables exactly as the embedded runner writes its runs (so the
    dashboard's operations page, Grafana and their alerts see scheduled runs): one row per step with
    its status, seconds (the sum of its tasks' durations: a dbt step is a task group) and rows (from
    the step task's XCom), then the audit mirror and a fresh verification of the trail.

    `task_outcomes` are Airflow's breadcrumbs of the run's finished tasks (task_id, state, duration);
    `results` the XCom of each Python step's task."""
    settings = load_settings()
    prepare_process(settings, log_file=False)
    from orchestration.graph import StepResult, TableCount
    from orchestration.runner import RunRecord, StepRun
    from orchestration.services import build_services
    from orchestration.warehouse.ops import record_run

    services = build_services(settings, actor="airflow")
    by_step: dict[str, list[Mapping[str, Any]]] = {}
    for outcome in task_outcomes:
        name = str(outcome["task_id"]).split(".", 1)[0].removesuffix("_done")
        by_step.setdefault(name, []).append(outcome)
    errors = {
        event["target"]: event["details"].get("error")
        for event in services.audit.events()
        if event["action"] == "step.run" and event["outcome"] == "failure"
    }
    steps = []
    for step in graph.order():
        outcomes = by_step.get(step.name, [])
        states = {_STEP_STATUS.get(str(o["state"]), "not run") for o in outcomes}
        status = "failed" if "failed" in states else "succeeded" if states == {"succeeded"} else "not run"
        seconds = sum(float(o.get("duration") or 0) for o in outcomes)
        result = results.get(step.name)
        counts = [TableCount(**c) for c in result["counts"]] if result and status == "succeeded" else []
        error = None
        if status == "failed":
            failed = sorted(str(o["task_id"]) for o in outcomes if str(o["state"]) == "failed")
            error = errors.get(f"{run_id}/{step.name}") or f"failed task(s): {', '.join(failed)}"
        steps.append(StepRun(step.name, status, seconds, StepResult(counts=counts), error))
    record = RunRecord(
        run_id=run_id,
        started_at=(started_at or datetime.now(UTC)).isoformat(),
        finished_at=datetime.now(UTC).isoformat(),
        status="failed" if any(s.status != "succeeded" for s in steps) else "succeeded",
        steps=steps,
    )
    return record_run(settings, services, record)


def record_task(graph: StepGraph) -> Any:
    """The DAG's last task: records the run in the ops tables whatever happened (a teardown, so it runs
    after failures too and its own outcome does not decide the run's state)."""
    from airflow.sdk import get_current_context, task
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    @task(task_id=RECORD_TASK, doc="record the run in ops.pipeline_runs, ops.audit_events, ops.audit_checks")
    def record() -> dict[str, int]:
        context = get_current_context()
        ti, dag_run = context["ti"], context["dag_run"]
        outcomes = [
            crumb
            for crumb in RuntimeTaskInstance.get_task_breadcrumbs(dag_run.dag_id, dag_run.run_id)
            if crumb["task_id"] != RECORD_TASK
        ]
        names = [s.name for s in graph.order() if s.name not in DBT_STEPS]
        results = {name: ti.xcom_pull(task_ids=name) for name in names}
        return record_airflow_run(
            graph,
            run_id=cofre_run_id(dag_run.run_id),
            started_at=dag_run.start_date,
            task_outcomes=outcomes,
            results=results,
        )

    return record().as_teardown()


def asset_of(output: str) -> Asset:
    """The Airflow asset of a step output (`cofre://raw/olist`): producers list it as an outlet, and a
    consumer DAG can be scheduled on it."""
    from airflow.sdk import Asset

    return Asset(name=output, uri=output, group="cofre")


def step_task(name: str, graph: StepGraph) -> Any:
    """A TaskFlow task running step `name` of THE pipeline (looked up by name at run time, so the task
    runs the very step `cofre run` runs); its outlets are the assets of the step's outputs."""
    from airflow.sdk import get_current_context, task

    step = graph[name]

    @task(task_id=name, outlets=[asset_of(o) for o in step.outputs], doc=step.description)
    def run() -> dict[str, Any]:
        dag_run = get_current_context()["dag_run"]
        return run_step(name, run_id=cofre_run_id(dag_run.run_id))

    return run()


def build_elt_tasks(
    settings: Settings, graph: StepGraph | None = None, *, dbt_mode: str = "local"
) -> dict[str, Any]:
    """Inside a DAG context: one task per step of `graph` (default: THE pipeline), each dbt step as a
    Cosmos task group, wired by the graph's own dependencies. Returns the task (or group) by step."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    graph = graph or graph_snapshot(settings)
    nodes: dict[str, Any] = {}
    for step in graph.order():
        if step.name in DBT_STEPS:
            group = dbt_task_group(settings, step.name, mode=dbt_mode)
            # The group's last task marks the step's outputs updated, as a Python step's task does.
            done = EmptyOperator(task_id=f"{step.name}_done", outlets=[asset_of(o) for o in step.outputs])
            group >> done
            nodes[step.name] = (group, done)
        else:
            nodes[step.name] = step_task(step.name, graph)
    for step in graph.order():
        for upstream in sorted(graph.upstream(step.name)):
            before, after = nodes[upstream], nodes[step.name]
            before = before[1] if isinstance(before, tuple) else before
            after = after[0] if isinstance(after, tuple) else after
            before >> after
    record = record_task(graph)
    for node in nodes.values():
        (node[1] if isinstance(node, tuple) else node) >> record
    nodes[RECORD_TASK] = record
    return nodes
