"""A dbt step of the step graph as a Cosmos task group, rendered from the manifest (no `dbt ls` at parse
time): a task per model and seed of the step's selection (Cosmos) and a task per test (`dbt_tests`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from orchestration.airflow.defaults import (
    DBT_MODES,
    DBT_NODE_TIMEOUT,
    DBT_PROCESS_ENV,
    task_defaults,
)
from orchestration.airflow.manifest import WAREHOUSE_CONN_ID, manifest_path, require_manifest
from orchestration.settings import Settings
from orchestration.warehouse.dbt_project import (
    INDIRECT_SELECTION,
    STEP_SELECTION,
    TRANSFORM_DIR,
    dbt_executable,
    layer_vars,
)

if TYPE_CHECKING:
    from cosmos import DbtTaskGroup


def dbt_task_group(
    settings: Settings,
    step: str,
    *,
    default_args: dict[str, Any] | None = None,
    mode: str = "local",
) -> DbtTaskGroup:
    """dbt step `step` as Cosmos tasks, rendered from the manifest (no `dbt ls` at parse time): a task per
    model and seed of the step's selection (Cosmos) and a task per test (`airflow_dbt_tests`).

    `mode` "local": one dbt process per task (each node and each test retries on its own; ~3-15 s of
    dbt start-up per task). "watcher": one `dbt build` (the very command of the embedded step) with one
    sensor task per node and test reporting its outcome, much faster; Cosmos marks it experimental."""
    if mode not in DBT_MODES:
        raise ValueError(f"unknown dbt execution mode {mode!r}: use one of {', '.join(DBT_MODES)}")
    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import (
        PRODUCER_WATCHER_TASK_ID,
        ExecutionMode,
        InvocationMode,
        LoadMode,
        TestBehavior,
        TestIndirectSelection,
    )

    from orchestration.airflow.dbt_tests import add_test_tasks
    from orchestration.airflow.profiles import PROFILE_MAPPINGS

    manifest = require_manifest(settings)
    args = {**task_defaults(execution_timeout=DBT_NODE_TIMEOUT), **(default_args or {})}
    watcher = mode == "watcher"
    # The profile comes from connection `cofre_warehouse`, which the secrets backend serves from the
    # vault at run time; the profiles.yml Cosmos writes names the secrets' variables, never their values.
    profile_config = ProfileConfig(
        profile_name="cofre",
        target_name=settings.target,
        profile_mapping=PROFILE_MAPPINGS[settings.target](conn_id=WAREHOUSE_CONN_ID),
    )
    operator_args: dict[str, Any] = {"indirect_selection": INDIRECT_SELECTION}
    group = DbtTaskGroup(
        group_id=step,
        project_config=ProjectConfig(
            dbt_project_path=TRANSFORM_DIR,
            manifest_path=manifest,
            project_name="cofre",
            install_dbt_deps=False,
            dbt_vars=layer_vars(settings.target),
            env_vars=DBT_PROCESS_ENV,
        ),
        profile_config=profile_config,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=dbt_executable(),
            test_indirect_selection=TestIndirectSelection.BUILDABLE,
            # TestBehavior.NONE makes Cosmos restrict the producer's `dbt build` to models, seeds and
            # snapshots (`--resource-type` each); adding the test types keeps the tests in that build,
            # which is then the embedded step's `dbt build` exactly.
            setup_operator_args=(
                {"dbt_cmd_flags": ["--resource-type", "test", "--resource-type", "unit_test"]}
                if watcher
                else None
            ),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=list(STEP_SELECTION[step].select),
            exclude=list(STEP_SELECTION[step].exclude),
            test_behavior=TestBehavior.NONE,  # one task per test instead: see airflow_dbt_tests
            enable_mock_profile=False,
        ),
        operator_args=operator_args,
        default_args=args,
    )
    producer = group.tasks_map.get(PRODUCER_WATCHER_TASK_ID)
    if producer is not None:
        # Each test reports its own outcome (under its own XCom key) instead of an aggregate per model.
        producer.tests_per_model = {}
    add_test_tasks(
        group,
        manifest,
        watcher=watcher,
        producer_task_id=producer.task_id if producer is not None else None,
        test_args={
            **operator_args,
            "env": DBT_PROCESS_ENV,
            "project_dir": str(TRANSFORM_DIR),
            "profile_config": profile_config,
            "vars": layer_vars(settings.target),
            "dbt_executable_path": dbt_executable(),
            "invocation_mode": InvocationMode.SUBPROCESS,
            "install_deps": False,
            "emit_datasets": False,
            "default_args": args,
        },
    )
    if watcher:
        _producer_first(group)
    return group


def _producer_first(group: DbtTaskGroup) -> None:
    """Watcher mode: the `dbt build` producer runs before the first sensors, as Cosmos wires it in a
    DbtDag but not in a task group. Otherwise a sensor that starts first holds the only slot (DuckDB
    DAGs run one task at a time, and so does `dag.test()`) waiting for a build that never starts."""
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID

    tasks = {task.task_id: task for task in group.iter_tasks()}
    producer = tasks.pop(f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}")
    for task_id, task in tasks.items():
        if task_id in producer.downstream_task_ids:
            continue
        if not set(task.upstream_task_ids) & tasks.keys():
            producer >> task


def dbt_node_names(settings: Settings) -> dict[str, list[str]]:
    """Models, seeds, tests and unit tests of the project as the manifest lists them (for the integrity
    test)."""
    manifest = json.loads(manifest_path(settings).read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for node in [*manifest["nodes"].values(), *manifest.get("unit_tests", {}).values()]:
        if node.get("package_name") == "cofre":
            found.setdefault(node["resource_type"], []).append(node["name"])
    return found
