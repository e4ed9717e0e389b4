"""Embedded runner parity: each run in ops.pipeline_runs, and `--resume` from the first failed step."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.graph import Step, StepContext, StepGraph, StepResult, TableCount
from orchestration.resume import NothingToResume, resume_steps
from orchestration.runner import RunRecord, StepRun, pipeline_run_rows, save_record


def noop(_: StepContext) -> StepResult:
    return StepResult()


GRAPH = StepGraph(
    [
        Step("files", "files", noop, outputs=("files",)),
        Step("ingest", "ingest", noop, inputs=("files",), outputs=("raw",)),
        Step("weather", "weather", noop, outputs=("weather",)),
        Step("transform_silver", "dbt silver", noop, inputs=("raw", "weather"), outputs=("marts",)),
        Step("publish", "publish", noop, inputs=("marts",), outputs=("published",)),
    ]
)


def record(run_id: str, statuses: dict[str, str]) -> RunRecord:
    run = RunRecord(
        run_id=run_id, started_at="2026-11-27T10:00:00+00:00", finished_at="2026-11-27T10:01:00+00:00"
    )
    run.status = "failed" if "failed" in statuses.values() else "succeeded"
    for name, status in statuses.items():
        result = StepResult(counts=[TableCount("raw", name, 10)]) if status == "succeeded" else None
        run.steps.append(StepRun(name, status, 1.5, result, "boom" if status == "failed" else None))
    return run


def test_resume_reruns_the_failed_step_and_what_followed(tmp_path: Path) -> None:
    ok = dict.fromkeys(["files", "ingest", "weather", "transform_silver", "publish"], "succeeded")
    save_record(tmp_path, record("20261127T090000Z-aaaaaa", ok))
    statuses = {**ok, "transform_silver": "failed", "publish": "not run"}
    save_record(tmp_path, record("20261127T100000Z-bbbbbb", statuses))
    run_id, steps = resume_steps(tmp_path, GRAPH)
    assert run_id == "20261127T100000Z-bbbbbb"
    assert [s.name for s in steps] == ["transform_silver", "publish"]


def test_resume_refuses_when_nothing_failed(tmp_path: Path) -> None:
    with pytest.raises(NothingToResume, match="no run record"):
        resume_steps(tmp_path, GRAPH)
    save_record(tmp_path, record("20261127T100000Z-cccccc", {"files": "succeeded"}))
    with pytest.raises(NothingToResume, match="did not fail"):
        resume_steps(tmp_path, GRAPH)


def test_pipeline_runs_rows_hold_status_duration_and_rows() -> None:
    rows = pipeline_run_rows(record("r1", {"files": "succeeded", "ingest": "failed", "publish": "not run"}))
    assert [(r["step"], r["step_status"], r["rows"]) for r in rows] == [
        ("files", "succeeded", 10),
        ("ingest", "failed", 0),
        ("publish", "not run", 0),
    ]
    assert {r["run_id"] for r in rows} == {"r1"} and rows[1]["error"] == "boom"
    assert rows[0]["seconds"] == 1.5 and rows[0]["run_status"] == "failed"
