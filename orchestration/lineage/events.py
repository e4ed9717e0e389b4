"""OpenLineage run events and their transports (the file, and an HTTP endpoint when configured), and
`observe`, the runner's one hook."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.graph import Step, StepContext, StepResult
from orchestration.lineage.parts import Part, step_parts
from orchestration.settings import Settings

log = logging.getLogger(__name__)

JOB_NAMESPACE = "cofre"
PRODUCER = "https://github.com/cofre/cofre/tree/main/orchestration/lineage"

HTTP_RETRY = {
    "total": 2,
    "backoff_factor": 0.3,
    "status_forcelist": [500, 502, 503, 504],
    "allowed_methods": ["HEAD", "POST"],
}
"""Retries of the HTTP transport; an endpoint that still fails is dropped for the rest of the run."""

# ---------------------------------------------------------------- events and transports


def lineage_file(settings: Settings) -> Path:
    return settings.home / "lineage" / "openlineage.jsonl"


def run_uuid(*parts: str) -> str:
    """A stable OpenLineage run id (a UUID) for a cofre run, step or part."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cofre:" + "/".join(parts)))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Emitter:
    """Sends OpenLineage events to the file transport and, when configured, the HTTP endpoint."""

    def __init__(self, settings: Settings) -> None:
        from openlineage.client.transport.file import FileConfig, FileTransport
        from openlineage.client.transport.http import HttpConfig, HttpTransport
        from openlineage.client.transport.transport import Transport

        path = lineage_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.transports: list[Transport] = [FileTransport(FileConfig(log_file_path=str(path), append=True))]
        if settings.lineage_url:
            config = HttpConfig(url=settings.lineage_url, timeout=5.0, retry=HTTP_RETRY)
            self.transports.append(HttpTransport(config))

    def emit(self, event: Any) -> None:
        for transport in list(self.transports):
            try:
                transport.emit(event)
            except Exception as error:  # lineage must never fail (or stall) a run
                log.warning("OpenLineage events no longer sent to %s in this run: %s", transport.kind, error)
                self.transports.remove(transport)


def _event(
    state: str,
    job: str,
    run_id: str,
    *,
    parent: tuple[str, str] | None = None,
    part: Part | None = None,
    error: str | None = None,
    job_type: str = "JOB",
    integration: str = "COFRE",
    when: str | None = None,
) -> Any:
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.generated import (
        error_message_run,
        job_type_job,
        output_statistics_output_dataset,
        parent_run,
    )

    run_facets: dict[str, Any] = {}
    if parent is not None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent[1]), job=parent_run.Job(namespace=JOB_NAMESPACE, name=parent[0])
        )
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error[:2000], programmingLanguage="python"
        )
    inputs = [InputDataset(namespace=ns, name=name) for ns, name in (part.inputs if part else [])]
    outputs = []
    for ns, name in part.outputs if part else []:
        facets: dict[str, Any] = {}
        if part is not None and (ns, name) in part.rows:
            facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=part.rows[(ns, name)]
            )
        outputs.append(OutputDataset(namespace=ns, name=name, outputFacets=facets))
    return RunEvent(
        eventType=getattr(RunState, state),
        eventTime=when or _now(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(
            namespace=JOB_NAMESPACE,
            name=job,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration=integration, jobType=job_type
                )
            },
        ),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


_INTEGRATION = {"dbt": "DBT", "spark": "SPARK", "ingest": "DLT"}


def emit_step(
    emitter: Emitter,
    state: str,
    step: str,
    cofre_run: str,
    parts: list[Part] | None = None,
    error: str | None = None,
) -> None:
    """The events of one step: on START the step alone; at the end each part (START and its outcome),
    then the step with every dataset its parts read from outside the step and every dataset they wrote."""
    run_id = run_uuid(cofre_run, step)
    parent = ("run", run_uuid(cofre_run))
    if parts is None:
        emitter.emit(_event("START", step, run_id, parent=parent, job_type="TASK"))
        return
    produced = {d for p in parts for d in p.outputs}
    whole = Part(step)
    for part in parts:
        whole.inputs += [d for d in part.inputs if d not in produced and d not in whole.inputs]
        whole.outputs += [d for d in part.outputs if d not in whole.outputs]
        whole.rows.update(part.rows)
        if len(parts) == 1 and part.name == step:
            continue
        kind = part.name.split(".", 1)[0]
        integration = _INTEGRATION.get(kind, "DLT" if kind.startswith("ingest_") else "COFRE")
        part_id = run_uuid(cofre_run, step, part.name)
        emitter.emit(
            _event(
                "START",
                part.name,
                part_id,
                parent=(step, run_id),
                part=part,
                integration=integration,
                job_type="MODEL" if kind == "dbt" else "JOB",
                when=part.started,
            )
        )
        emitter.emit(
            _event(
                "FAIL" if part.failed else "COMPLETE",
                part.name,
                part_id,
                parent=(step, run_id),
                part=part,
                error=part.failed,
                integration=integration,
                job_type="MODEL" if kind == "dbt" else "JOB",
                when=part.ended,
            )
        )
    emitter.emit(_event(state, step, run_id, parent=parent, part=whole, error=error, job_type="TASK"))


def observe(steps: list[Step], settings: Settings, *, run_events: bool = True) -> list[Step]:
    """`steps` with each step's run wrapped to emit its OpenLineage events (and, with `run_events`, the
    run's: START before the first step, COMPLETE after the last, FAIL with the failing step). The runner's
    one hook: `steps = observe(steps, settings)` before it runs them. An orchestrator that runs one step per
    task (Airflow) wraps that step with `run_events=False`: its steps still name the run as their parent."""
    if not steps:
        return steps
    emitter = Emitter(settings)
    first, last = (steps[0].name, steps[-1].name) if run_events else ("", "")

    def wrap(step: Step) -> Step:
        def run(ctx: StepContext) -> StepResult:
            if step.name == first:
                emitter.emit(_event("START", "run", run_uuid(ctx.run_id), job_type="DAG"))
            emit_step(emitter, "START", step.name, ctx.run_id)
            try:
                result = step.run(ctx)
            except Exception as error:
                message = str(error)
                _safely(
                    lambda: emit_step(
                        emitter,
                        "FAIL",
                        step.name,
                        ctx.run_id,
                        step_parts(step.name, settings, None),
                        message,
                    )
                )
                if run_events:
                    emitter.emit(
                        _event(
                            "FAIL", "run", run_uuid(ctx.run_id), error=f"{step.name}: {error}", job_type="DAG"
                        )
                    )
                raise
            _safely(
                lambda: emit_step(
                    emitter, "COMPLETE", step.name, ctx.run_id, step_parts(step.name, settings, result)
                )
            )
            if step.name == last:
                emitter.emit(_event("COMPLETE", "run", run_uuid(ctx.run_id), job_type="DAG"))
            return result

        return dataclasses.replace(step, run=run)

    return [wrap(step) for step in steps]


def _safely(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as error:  # lineage must never fail a run
        log.warning("OpenLineage events not emitted: %s", error)
