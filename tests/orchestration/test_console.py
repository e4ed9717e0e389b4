"""The run's progress display: each bar counts its own unit and stops when its step ends."""

from __future__ import annotations

import io

from rich.console import Console

from orchestration.cli.console import RichReporter


def test_bars_count_their_unit_and_stop_when_the_step_ends() -> None:
    out = io.StringIO()
    with RichReporter(Console(file=out, width=120, force_terminal=False)) as reporter:
        export = reporter.task("export masked silver to the lake")  # no total: a spinner
        dbt = reporter.task("dbt build silver: models and tests", unit="nodes")
        dbt.update(40, total=97)
        jobs = reporter.task("Spark gold jobs", total=5, unit="jobs")
        jobs.advance()
        assert not any(task.finished for task in reporter.progress.tasks)
        reporter.finish_tasks()  # the runner calls it when the step ends, failed or not
        assert all(task.finished for task in reporter.progress.tasks)
        export.update(8234)
    text = out.getvalue()
    assert "97 nodes" in text and "5 jobs" in text and "rows" in text
