"""`cofre run --resume`: run again from the first failed step of the last run.

The last run is the newest JSON run record under the state directory. Resuming re-runs its failed step
and every step of that run after it (those were `not run`), in graph order; the steps that succeeded
are not repeated, since their outputs are in place (bronze is immutable, raw loads are idempotent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestration.graph import Step, StepGraph


class NothingToResume(RuntimeError):
    """There is no previous run, or the last run succeeded."""


def last_record(runs_dir: Path) -> dict[str, Any] | None:
    """The newest run record (run ids start with their UTC start time, so names sort by time)."""
    records = sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []
    return json.loads(records[-1].read_text(encoding="utf-8")) if records else None


def resume_steps(runs_dir: Path, graph: StepGraph) -> tuple[str, list[Step]]:
    """(id of the run resumed, the steps to run): its first failed step and everything after it."""
    record = last_record(runs_dir)
    if record is None:
        raise NothingToResume(f"no run to resume: no run record in {runs_dir}")
    steps = record.get("steps", [])
    names = [s["name"] for s in steps]
    failed = next((i for i, s in enumerate(steps) if s["status"] == "failed"), None)
    if failed is None:
        raise NothingToResume(f"the last run {record['run_id']} did not fail ({record.get('status')})")
    pending = set(names[failed:])
    unknown = pending - set(graph.steps)
    if unknown:
        raise NothingToResume(
            f"the last run {record['run_id']} has steps the pipeline no longer has: "
            + ", ".join(sorted(unknown))
        )
    return record["run_id"], [step for step in graph.order() if step.name in pending]
