"""Crash recovery of run records: a `running` record is interrupted only when its process is gone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from orchestration.graph import Step, StepGraph, StepResult
from orchestration.processes import start_ticks
from orchestration.resume import mark_interrupted, resume_steps
from orchestration.runner import RunRecord, StepRun, save_record

GRAPH = StepGraph(
    [
        Step("a", "first", lambda ctx: StepResult(), outputs=("x",)),
        Step("b", "second", lambda ctx: StepResult(), inputs=("x",), outputs=("y",)),
        Step("c", "third", lambda ctx: StepResult(), inputs=("y",)),
    ]
)


def running(run_id: str, pid: int, started: int | None) -> RunRecord:
    steps = [StepRun("a", "succeeded", 1.0), StepRun("b", "running"), StepRun("c", "pending")]
    return RunRecord(run_id, "2026-11-29T00:00:00+00:00", steps=steps, pid=pid, pid_started=started)


def ended_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_dead_process_run_is_interrupted_and_resumed_from_its_unfinished_step(tmp_path: Path) -> None:
    save_record(tmp_path, running("20261129T000000Z-aaaaaa", ended_pid(), None))
    (found,) = mark_interrupted(tmp_path)
    assert found.status == "interrupted" and found.unfinished_step == "b"
    assert [s.status for s in found.steps] == ["succeeded", "interrupted", "not run"]
    run_id, steps = resume_steps(tmp_path, GRAPH)
    assert run_id == "20261129T000000Z-aaaaaa" and [s.name for s in steps] == ["b", "c"]
    assert mark_interrupted(tmp_path) == [], "marked once"


def test_a_live_process_run_is_left_alone_but_a_reused_pid_is_not_mistaken_for_it(tmp_path: Path) -> None:
    me, my_start = os.getpid(), start_ticks(os.getpid())
    assert my_start is not None
    save_record(tmp_path, running("20261129T000000Z-bbbbbb", me, my_start))
    assert mark_interrupted(tmp_path) == []
    # Same pid, another start time: the pid was reused by a later process; the run's own process is gone.
    save_record(tmp_path, running("20261129T000000Z-cccccc", me, my_start - 1))
    (found,) = mark_interrupted(tmp_path)
    assert found.run_id == "20261129T000000Z-cccccc"
