"""One Airflow task per dbt test (data test or unit test) of a Cosmos task group.

Cosmos 1.15 renders tests per model at best (TestBehavior.AFTER_EACH: one task running all of a model's
tests, and in watcher mode one sensor per model waiting for the aggregate of its tests); it never makes a
task of a single test. cofre renders the models and seeds with Cosmos (TestBehavior.NONE) and adds the
tests here, from the same dbt manifest, so a failing gate is one red task named after the test:

- which tests belong to a group follows dbt's `--indirect-selection buildable`, the rule of the step's
  own `dbt build`: every parent of the test is selected or upstream of the selection, and one is
  selected. Each test of the project is thus in exactly one group (the integrity test checks it).
- a test task runs after the tasks of its parents in the group, and before the tasks built on them
  (as `dbt build` orders them), so a failed error-severity test stops what depends on it;
- `local` mode: `dbt test --select <test>` (DbtTestLocalOperator); `watcher` mode: a sensor reporting
  the test's outcome in the producer's `dbt build`, which falls back to `dbt test --select <test>` on a
  retry, as Cosmos's own sensors do for models.

Imported only while a DAG file builds the group (it imports Cosmos).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosmos.operators.local import DbtTestLocalOperator
from cosmos.operators.watcher import DbtConsumerWatcherSensor

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context
    from cosmos import DbtTaskGroup

TEST_TYPES = frozenset({"test", "unit_test"})


@dataclass(frozen=True)
class DbtTest:
    """A test node of the manifest: a data test (`test.cofre.…`) or a unit test (`unit_test.cofre.…`)."""

    unique_id: str
    name: str
    parents: tuple[str, ...]

    @property
    def task_id(self) -> str:
        return f"{self.name}_test"

    def context(self) -> dict[str, Any]:
        """What Cosmos's sensors read from `extra_context["dbt_node_config"]`."""
        return {
            "unique_id": self.unique_id,
            "resource_type": self.unique_id.split(".", 1)[0],
            "depends_on": list(self.parents),
            "resource_name": self.name,
            "name": self.name,
        }


@dataclass(frozen=True)
class ManifestGraph:
    """The parent edges of a dbt manifest and its tests, as far as rendering needs them."""

    parents: dict[str, tuple[str, ...]]
    tests: tuple[DbtTest, ...]

    def ancestors(self, nodes: set[str]) -> set[str]:
        """Every node upstream of `nodes` (not including them unless one is upstream of another)."""
        found: set[str] = set()
        frontier = {p for n in nodes for p in self.parents.get(n, ())}
        while frontier:
            found |= frontier
            frontier = {p for n in frontier for p in self.parents.get(n, ())} - found
        return found

    def tests_of(self, selected: set[str]) -> list[DbtTest]:
        """The tests `dbt build --select … --indirect-selection buildable` runs with `selected`."""
        buildable = selected | self.ancestors(selected)
        return [
            test for test in self.tests if set(test.parents) <= buildable and set(test.parents) & selected
        ]


@lru_cache(maxsize=4)
def _read_manifest(path: Path, mtime_ns: int) -> ManifestGraph:
    data = json.loads(path.read_text(encoding="utf-8"))
    project = data["metadata"]["project_name"]
    parents: dict[str, tuple[str, ...]] = {}
    tests: list[DbtTest] = []
    for kind in ("nodes", "sources", "unit_tests"):
        for uid, node in data.get(kind, {}).items():
            parents[uid] = tuple(node.get("depends_on", {}).get("nodes", ()))
            if node.get("resource_type") in TEST_TYPES and node.get("package_name") == project:
                tests.append(DbtTest(uid, node["name"], parents[uid]))
    return ManifestGraph(parents, tuple(sorted(tests, key=lambda t: t.unique_id)))


def manifest_graph(path: Path) -> ManifestGraph:
    """The manifest's graph, read once per manifest version (a DAG processor parses the file often)."""
    return _read_manifest(path, path.stat().st_mtime_ns)


class DbtTestNodeWatcherSensor(DbtConsumerWatcherSensor):
    """Watcher mode: the outcome of ONE test in the producer's `dbt build` (Cosmos's DbtTestWatcherOperator
    waits for the aggregate of a model's tests). The producer pushes each test's status under the test's
    own key once its per-model aggregation is off (see `add_test_tasks`)."""

    base_cmd = ["test"]  # noqa: RUF012 (Cosmos's attribute) only for the fallback: the normal path reads XCom

    def _fallback_to_non_watcher_run(self, try_number: int, context: Context) -> bool:
        """On a retry, or when the producer did not run: `dbt test --select <this test>`."""
        name = self.extra_context["dbt_node_config"]["name"]
        self.log.info("running dbt test %s (try %s) outside the producer", name, try_number)
        self.build_and_run_cmd(context, cmd_flags=["--select", name])
        return True


def add_test_tasks(
    group: DbtTaskGroup,
    manifest: Path,
    *,
    watcher: bool,
    producer_task_id: str | None,
    test_args: dict[str, Any],
) -> list[Any]:
    """Add one task per test of the group's selection (see the module's docstring) and wire it.

    `test_args`: the operator arguments of the group's dbt tasks (project, profile, vars, hooks).
    Returns the test tasks."""
    graph = manifest_graph(manifest)
    rendered: dict[str, Any] = dict(group.tasks_map)
    selected = {uid for uid in group.dbt_graph.filtered_nodes if uid.split(".", 1)[0] not in TEST_TYPES}
    children: dict[str, set[str]] = {}
    for uid, node_parents in graph.parents.items():
        if uid in rendered:
            for parent in node_parents:
                children.setdefault(parent, set()).add(uid)
    created = []
    for test in graph.tests_of(selected):
        if watcher:
            task = DbtTestNodeWatcherSensor(
                task_id=test.task_id,
                task_group=group,
                producer_task_id=producer_task_id,
                extra_context={"dbt_node_config": test.context()},
                **test_args,
            )
        else:
            task = DbtTestLocalOperator(task_id=test.task_id, task_group=group, select=test.name, **test_args)
        created.append(task)
        parents = set(test.parents)
        for parent in parents & rendered.keys():
            rendered[parent] >> task
        # Like `dbt build`: what is built on a tested node waits for its tests. Only a child built on
        # every parent of the test waits for it: the test then sits between its last parent and that
        # child in the models' own order. Waiting on a test of two nodes where only one is upstream
        # would chain tests across branches (fct_orders -> test(fct_orders, dim_customer) -> fct_reviews
        # -> test(fct_reviews, dim_customer) -> fct_orders): a cycle.
        for child in set().union(*(children.get(p, set()) for p in parents)) - parents:
            if parents <= graph.ancestors({child}):
                task >> rendered[child]
    return created
