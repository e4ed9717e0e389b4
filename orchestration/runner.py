"""The embedded runner: executes the step graph in-process, in dependency order, and records each run.

It stops at the first failed step (later steps would read what that step did not produce) and keeps a
JSON record of every run under the state directory, so a user can see what ran, how long each step took
and how many rows each produced.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.errors import describe_error
from orchestration.graph import Reporter, Step, StepContext, StepResult
from orchestration.lineage import observe
from orchestration.services import Services
from orchestration.settings import Settings


@dataclass
class StepRun:
    name: str
    status: str  # succeeded | failed | not run
    seconds: float = 0.0
    result: StepResult | None = None
    error: str | None = None


@dataclass
class RunRecord:
    run_id: str
    started_at: str
    finished_at: str = ""
    status: str = "running"
    steps: list[StepRun] = field(default_factory=list)

    @property
    def failed_step(self) -> StepRun | None:
        return next((s for s in self.steps if s.status == "failed"), None)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def run_steps(
    steps: list[Step], settings: Settings, services: Services, reporter: Reporter, run_id: str | None = None
) -> RunRecord:
    """Run `steps` (already in dependency order) and return the record; never raises for a step failure."""
    record = RunRecord(run_id=run_id or new_run_id(), started_at=datetime.now(UTC).isoformat())
    steps = observe(steps, settings)  # OpenLineage events of each step (orchestration/lineage.py)
    context = StepContext(settings=settings, run_id=record.run_id, reporter=reporter, services=services)
    services.audit.record("run.start", target=record.run_id, details={"steps": [s.name for s in steps]})
    failed = False
    for step in steps:
        if failed:
            record.steps.append(StepRun(step.name, "not run"))
            continue
        reporter.log(f"[bold]{step.name}[/bold]: {step.description}")
        started = time.perf_counter()
        try:
            result = step.run(context)
        except Exception as error:  # a failed step is recorded and reported, never swallowed
            reporter.log(f"[red]{step.name} failed:[/red] {describe_error(error)}")
            record.steps.append(
                StepRun(step.name, "failed", time.perf_counter() - started, error=describe_error(error))
            )
            _write_traceback(settings.logs_dir, record.run_id, step.name, error)
            services.audit.record(
                "step.run",
                target=f"{record.run_id}/{step.name}",
                outcome="failure",
                details={"error": describe_error(error)},
            )
            failed = True
            continue
        record.steps.append(StepRun(step.name, "succeeded", time.perf_counter() - started, result))
    record.status = "failed" if failed else "succeeded"
    record.finished_at = datetime.now(UTC).isoformat()
    services.audit.record(
        "run.end",
        target=record.run_id,
        outcome="failure" if failed else "success",
        details={s.name: s.status for s in record.steps},
    )
    save_record(settings.runs_dir, record)
    return record


def save_record(runs_dir: Path, record: RunRecord) -> Path:
    """Write the run record atomically, so a reader never sees half of it."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / f"{record.run_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _write_traceback(logs_dir: Path, run_id: str, step: str, error: BaseException) -> None:
    logs_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(traceback.format_exception(error))
    (logs_dir / f"{run_id}-{step}.traceback.txt").write_text(text, encoding="utf-8")


def pipeline_run_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One row per step of a run, as `ops.pipeline_runs` holds them (the dashboard's ops page and
    Grafana read that table): the run's id, times and status, and the step's status, duration and rows."""
    rows = []
    for position, step in enumerate(record.steps):
        counts = step.result.counts if step.result else []
        rows.append(
            {
                "run_id": record.run_id,
                "started_at": record.started_at,
                "finished_at": record.finished_at,
                "run_status": record.status,
                "position": position,
                "step": step.name,
                "step_status": step.status,
                "seconds": round(step.seconds, 3),
                "rows": sum(c.rows for c in counts),
                "row_counts": [asdict(c) for c in counts],
                "error": step.error,
            }
        )
    return rows
