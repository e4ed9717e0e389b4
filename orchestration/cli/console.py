"""Terminal output of the CLI: progress bars for long steps and the end-of-run summary."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestration.runner import RunRecord

# Two tables keep the summary readable in 80 columns: what came in, and what the pipeline built from it.
STAGE_GROUPS = {
    "Rows per table and stage": ("generated", "input", "bronze", "raw", "quarantine"),
    "Rows per built table and layer": ("silver_lake", "gold_lake", "gold", "published"),
}


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
            TextColumn("{task.completed:,.0f} {task.fields[unit]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def task(self, description: str, total: int | None = None, unit: str = "rows") -> RichTask:
        return RichTask(self.progress, self.progress.add_task(description, total=total, unit=unit))

    def finish_tasks(self) -> None:
        for task in self.progress.tasks:
            if not task.finished:
                done = max(task.completed, task.total or 0, 1)
                self.progress.update(task.id, total=done, completed=done)

    def log(self, message: str) -> None:
        self.progress.console.print(message)


def summary(record: RunRecord, locations: dict[str, str]) -> list[Table]:
    """Rows per table and stage, time per step, and where the outputs are."""
    rows: dict[str, dict[str, int]] = defaultdict(dict)
    for step in record.steps:
        for count in step.result.counts if step.result else []:
            rows[count.table][count.stage] = rows[count.table].get(count.stage, 0) + count.rows
    tables = [_counts_table(title, stages, rows) for title, stages in STAGE_GROUPS.items()]
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
    return [*(t for t in tables if t.row_count), steps, where]


def _counts_table(title: str, group: tuple[str, ...], rows: dict[str, dict[str, int]]) -> Table:
    stages = [s for s in group if any(s in by_stage for by_stage in rows.values())]
    table = Table(title=title)
    table.add_column("table")
    for stage in stages:
        table.add_column(stage, justify="right")
    for name in sorted(n for n in rows if any(s in rows[n] for s in stages)):
        table.add_row(name, *(f"{rows[name][s]:,}" if s in rows[name] else "" for s in stages))
    return table
