"""After a crash, and `cofre run --resume`.

A run writes its record (`runs/<run_id>.json`) when it starts, with status `running` and its pid. At the
next start, with the state directory locked, `mark_interrupted` turns every `running` record whose
process is gone into `interrupted`: the step it was in is `interrupted`, the steps after it `not run`.

`--resume` continues the last run (the newest record) from its first unfinished step: the failed or
interrupted one, with every step of that run after it, in graph order. The steps that succeeded are not
repeated, since their outputs are in place (bronze is immutable, raw loads are idempotent, dbt and
publish rebuild what they make).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.graph import Step, StepGraph
from orchestration.processes import is_alive
from orchestration.runner import RunRecord, StepRun, save_record

RESUMABLE = ("failed", "interrupted")


class NothingToResume(RuntimeError):
    """There is no previous run, or the last run succeeded."""


def last_record(runs_dir: Path) -> dict[str, Any] | None:
    """The newest run record (run ids start with their UTC start time, so names sort by time)."""
    records = sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []
    return json.loads(records[-1].read_text(encoding="utf-8")) if records else None


def mark_interrupted(runs_dir: Path) -> list[RunRecord]:
    """Every run record still `running` whose process is gone becomes `interrupted` (its finish time:
    the record's last write, the run's last sign of life). Call it holding the state lock: no run of
    this state directory is then under way, so only a dead process's record can say `running`."""
    found = []
    for path in sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("status") != "running":
            continue
        record = RunRecord.from_json(data)
        if record.pid and is_alive(record.pid, record.pid_started):
            continue
        last_sign = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
        record.status, record.finished_at = "interrupted", last_sign
        record.steps = [
            StepRun(s.name, "interrupted", s.seconds)
            if s.status == "running"
            else StepRun(s.name, "not run")
            if s.status == "pending"
            else s
            for s in record.steps
        ]
        save_record(runs_dir, record)
        found.append(record)
    return found


def resume_steps(runs_dir: Path, graph: StepGraph) -> tuple[str, list[Step]]:
    """(id of the run resumed, the steps to run): its first unfinished step and everything after it."""
    record = last_record(runs_dir)
    if record is None:
        raise NothingToResume(f"no run to resume: no run record in {runs_dir}")
    if record.get("status") not in RESUMABLE:
        raise NothingToResume(
            f"the last run {record['run_id']} did not fail and was not interrupted ({record.get('status')})"
        )
    steps = record.get("steps", [])
    names = [s["name"] for s in steps]
    first = next((i for i, s in enumerate(steps) if s["status"] != "succeeded"), None)
    if first is None:
        raise NothingToResume(f"the last run {record['run_id']} has no unfinished step")
    pending = set(names[first:])
    unknown = pending - set(graph.steps)
    if unknown:
        raise NothingToResume(
            f"the last run {record['run_id']} has steps the pipeline no longer has: "
            + ", ".join(sorted(unknown))
        )
    return record["run_id"], [step for step in graph.order() if step.name in pending]
