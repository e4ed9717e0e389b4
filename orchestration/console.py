"""Terminal output of the CLI: progress bars for long steps and the end-of-run summary."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestration.runner import RunRecord

STAGES = ("generated", "input", "bronze", "raw", "quarantine", "marts")


class RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress, self._id = progress, task_id

    def advance(self, amount: int = 1) -> None:
        self._progress.advance(self._id, amount)

    def update(self, completed: int, total: int | None = None) -> None:
        if total is not None:
            self._progress.update(self._id, total=total)
        self._progress.update(self._id, completed=completed)


class RichReporter:
    """Implements graph.Reporter on a rich Progress display."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def task(self, description: str, total: int | None = None) -> RichTask:
        return RichTask(self.progress, self.progress.add_task(description, total=total))

    def log(self, message: str) -> None:
        self.progress.console.print(message)


def summary(record: RunRecord, locations: dict[str, str]) -> list[Table]:
    """Rows per table and stage, time per step, and where the outputs are."""
    rows: dict[str, dict[str, int]] = defaultdict(dict)
    for step in record.steps:
        for count in step.result.counts if step.result else []:
            rows[count.table][count.stage] = rows[count.table].get(count.stage, 0) + count.rows
    stages = [s for s in STAGES if any(s in by_stage for by_stage in rows.values())]
    tables = Table(title="Rows per table and stage")
    tables.add_column("table")
    for stage in stages:
        tables.add_column(stage, justify="right")
    for table in sorted(rows):
        tables.add_row(table, *(f"{rows[table][s]:,}" if s in rows[table] else "" for s in stages))

    steps = Table(title=f"Run {record.run_id}: {record.status}")
    for column in ("step", "status", "seconds", "detail"):
        steps.add_column(column, justify="right" if column == "seconds" else "left")
    for step in record.steps:
        style = {"succeeded": "green", "failed": "red"}.get(step.status, "dim")
        detail = step.error or "; ".join(step.result.notes if step.result else [])
        steps.add_row(step.name, f"[{style}]{step.status}[/{style}]", f"{step.seconds:.1f}", detail)

    where = Table(title="Outputs", show_header=False)
    for name, place in locations.items():
        where.add_row(name, place)
    return [tables, steps, where]
