"""The embedded runner: executes the step graph in-process, in dependency order, and records each run.

It stops at the first failed step (later steps would read what that step did not produce) and keeps a
JSON record of every run under the state directory, so a user can see what ran, how long each step took
and how many rows each produced. The record is written when the run starts (status `running`, with the
pid) and again as each step starts and ends, so a run killed mid-way leaves a record that the next start
marks `interrupted` (orchestration.resume) and `--resume` continues.
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
from orchestration.graph import Reporter, Step, StepContext, StepResult, TableCount
from orchestration.lineage import observe
from orchestration.processes import start_ticks
from orchestration.services import Services
from orchestration.settings import Settings


@dataclass
class StepRun:
    name: str
    status: str  # pending | running | succeeded | failed | interrupted | not run
    seconds: float = 0.0
    result: StepResult | None = None
    error: str | None = None


@dataclass
class RunRecord:
    run_id: str
    started_at: str
    finished_at: str = ""
    status: str = "running"  # running | succeeded | failed | interrupted
    steps: list[StepRun] = field(default_factory=list)
    pid: int = 0
    pid_started: int | None = None  # the process's start time (clock ticks since boot): tells pid reuse
    resumes: str | None = None  # the run this one continues (`--resume`)

    @property
    def failed_step(self) -> StepRun | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    @property
    def unfinished_step(self) -> str | None:
        """The first step that did not succeed (what `--resume` starts from)."""
        return next((s.name for s in self.steps if s.status != "succeeded"), None)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        steps = []
        for step in data.get("steps", []):
            result = step.get("result")
            steps.append(
                StepRun(
                    name=step["name"],
                    status=step["status"],
                    seconds=float(step.get("seconds") or 0.0),
                    error=step.get("error"),
                    result=StepResult(
                        counts=[TableCount(**c) for c in result.get("counts", [])],
                        outputs=dict(result.get("outputs", {})),
                        notes=list(result.get("notes", [])),
                    )
                    if result
                    else None,
                )
            )
        return cls(
            run_id=data["run_id"],
            started_at=data.get("started_at", ""),
            finished_at=data.get("finished_at", ""),
            status=data.get("status", "running"),
            steps=steps,
            pid=int(data.get("pid") or 0),
            pid_started=data.get("pid_started"),
            resumes=data.get("resumes"),
        )


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def run_steps(
    steps: list[Step],
    settings: Settings,
    services: Services,
    reporter: Reporter,
    run_id: str | None = None,
    resumes: str | None = None,
) -> RunRecord:
    """Run `steps` (already in dependency order) and return the record; never raises for a step failure.

    An interruption inside the process (Ctrl-C, SystemExit) marks the record `interrupted` and raises;
    a kill or SIGTERM leaves it `running` with this pid, for the next start to find."""
    record = RunRecord(
        run_id=run_id or new_run_id(),
        started_at=datetime.now(UTC).isoformat(),
        steps=[StepRun(step.name, "pending") for step in steps],
        pid=os.getpid(),
        pid_started=start_ticks(os.getpid()),
        resumes=resumes,
    )
    save_record(settings.runs_dir, record)
    steps = observe(steps, settings)  # OpenLineage events of each step (orchestration/lineage.py)
    context = StepContext(settings=settings, run_id=record.run_id, reporter=reporter, services=services)
    details: dict[str, Any] = {"steps": [s.name for s in steps], "pid": record.pid}
    if resumes:
        details["resumes"] = resumes
    services.audit.record("run.start", target=record.run_id, details=details)
    failed = False
    for index, step in enumerate(steps):
        if failed:
            record.steps[index] = StepRun(step.name, "not run")
            continue
        record.steps[index] = StepRun(step.name, "running")
        save_record(settings.runs_dir, record)
        reporter.log(f"[bold]{step.name}[/bold]: {step.description}")
        started = time.perf_counter()
        try:
            try:
                result = step.run(context)
            finally:
                reporter.finish_tasks()  # its bars stop with it, whatever happened
        except Exception as error:  # a failed step is recorded and reported, never swallowed
            reporter.log(f"[red]{step.name} failed:[/red] {describe_error(error)}")
            record.steps[index] = StepRun(
                step.name, "failed", time.perf_counter() - started, error=describe_error(error)
            )
            _write_traceback(settings.logs_dir, record.run_id, step.name, error)
            services.audit.record(
                "step.run",
                target=f"{record.run_id}/{step.name}",
                outcome="failure",
                details={"error": describe_error(error)},
            )
            failed = True
            save_record(settings.runs_dir, record)
            continue
        except BaseException:
            record.steps[index] = StepRun(step.name, "interrupted", time.perf_counter() - started)
            for later in range(index + 1, len(steps)):
                record.steps[later] = StepRun(steps[later].name, "not run")
            record.status = "interrupted"
            record.finished_at = datetime.now(UTC).isoformat()
            save_record(settings.runs_dir, record)
            services.audit.record(
                "run.interrupted", target=record.run_id, outcome="failure", details={"step": step.name}
            )
            raise
        record.steps[index] = StepRun(step.name, "succeeded", time.perf_counter() - started, result)
        save_record(settings.runs_dir, record)
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
    return write_json_atomic(runs_dir / f"{record.run_id}.json", asdict(record))


def write_json_atomic(path: Path, data: dict[str, Any]) -> Path:
    """Write through `<name>.<pid>.tmp` renamed into place; a temp file a kill leaves carries the pid
    (orchestration.leftovers removes it once that pid is dead)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
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
