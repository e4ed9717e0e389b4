"""The step graph: named steps with declared inputs and outputs, defined once for every orchestrator.

A step's dependencies are not listed by hand: a step depends on the steps that produce its inputs. The
embedded runner executes the graph in dependency order; the Airflow DAG maps each step to a task and each
output to an asset, so both run the very same steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Protocol

from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.services import Services


class ProgressTask(Protocol):
    def advance(self, amount: int = 1) -> None: ...
    def update(self, completed: int, total: int | None = None) -> None: ...


class Reporter(Protocol):
    """Where long work shows its progress (a rich progress bar in the CLI, log lines under Airflow)."""

    def task(self, description: str, total: int | None = None, unit: str = "rows") -> ProgressTask:
        """A progress bar (or its log lines) counting `unit`s: rows, dbt nodes, Spark jobs."""
        ...

    def log(self, message: str) -> None: ...

    def finish_tasks(self) -> None:
        """The step ended: every bar it opened stops (no spinner left running after its step)."""
        ...


@dataclass(frozen=True)
class TableCount:
    stage: str  # input, bronze, raw, quarantine, ...
    table: str
    rows: int


@dataclass
class StepResult:
    counts: list[TableCount] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # what was produced -> where it is
    notes: list[str] = field(default_factory=list)


@dataclass
class StepContext:
    """What the orchestrator hands a step: settings, the run's identity, the services, progress."""

    settings: Settings
    run_id: str
    reporter: Reporter
    services: Services  # lake, warehouse, vault, audit trail


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: Callable[[StepContext], StepResult]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


class GraphError(ValueError):
    """The step graph is malformed (duplicate step or output, cycle, unknown step)."""


class StepGraph:
    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps: dict[str, Step] = {}
        self._producer: dict[str, str] = {}
        for step in steps:
            if step.name in self.steps:
                raise GraphError(f"step {step.name!r} is defined twice")
            self.steps[step.name] = step
            for output in step.outputs:
                if output in self._producer:
                    raise GraphError(
                        f"output {output!r} is produced by both {self._producer[output]!r} and {step.name!r}"
                    )
                self._producer[output] = step.name
        self._order = self._topological_order()

    def upstream(self, name: str) -> set[str]:
        """Direct dependencies of a step: the producers of its inputs."""
        return {self._producer[i] for i in self[name].inputs if i in self._producer}

    def downstream(self, name: str) -> set[str]:
        """Every step that depends, directly or not, on `name`."""
        found: set[str] = set()
        frontier = {name}
        while frontier:
            frontier = {s for s in self.steps if self.upstream(s) & frontier} - found
            found |= frontier
        return found

    def order(self) -> list[Step]:
        return [self.steps[name] for name in self._order]

    def select(self, patterns: Iterable[str]) -> list[Step]:
        """Steps named by `patterns` in run order; `name+` adds everything downstream of `name`."""
        chosen: set[str] = set()
        for pattern in patterns:
            name = pattern.removesuffix("+")
            self[name]
            chosen.add(name)
            if pattern.endswith("+"):
                chosen |= self.downstream(name)
        return [step for step in self.order() if step.name in chosen]

    def __getitem__(self, name: str) -> Step:
        try:
            return self.steps[name]
        except KeyError:
            raise GraphError(f"no step named {name!r}; steps are: {', '.join(self._order)}") from None

    def _topological_order(self) -> list[str]:
        """Dependency order; among steps that are ready, the one declared first runs first, so the run
        order reads like the declaration."""
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in self.steps:
            sorter.add(name, *self.upstream(name))
        try:
            sorter.prepare()
        except CycleError as error:
            raise GraphError(f"the step graph has a cycle: {' -> '.join(error.args[1])}") from None
        position = {name: index for index, name in enumerate(self.steps)}
        order: list[str] = []
        ready: list[str] = []
        while sorter.is_active():
            ready = sorted({*ready, *sorter.get_ready()}, key=position.__getitem__)
            name = ready.pop(0)
            order.append(name)
            sorter.done(name)
        return order
