"""What the Airflow DAGs of cofre call: the DAG files only wire these together.

Each Airflow task runs ONE step of THE step graph (orchestration/steps.py) through `run_step`, with
settings read from COFRE_* at the task's edge and services built per task, exactly as the embedded
runner builds them; the two dbt steps (`transform_silver`, `transform_marts`) become Cosmos DbtTaskGroups
rendered from the dbt manifest (produced into the state directory by `cofre airflow manifest`, never by
a parse), so every dbt model, seed and test is a task. Credentials never enter the DAG file or Airflow's
database: the dbt tasks' profile comes from connection `cofre_warehouse`, which the secrets backend
(security.airflow_backend) serves from the vault at run time, like Airflow's other connections and
variables.

Heavy imports (dlt, dbt, Cosmos) happen inside functions, and the DAG file reads the step graph's
shape from a snapshot (`graph_snapshot`), so it parses in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.errors import describe_error
from orchestration.settings import Settings

if TYPE_CHECKING:
    from airflow.sdk import Asset
    from cosmos import DbtTaskGroup

    from orchestration.graph import ProgressTask, StepGraph
    from security.vault import Vault

log = logging.getLogger(__name__)

OWNER = "cofre"
TAGS = ["cofre"]
DBT_STEPS = ("transform_silver", "transform_marts")
"""The steps rendered by Cosmos (one task per dbt model, seed and test) instead of one Python task each."""

RETRIES = 2
RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(minutes=10)
STEP_TIMEOUT = timedelta(hours=2)
DBT_NODE_TIMEOUT = timedelta(minutes=30)
DBT_MODES = ("local", "watcher")
DBT_MODE_VARIABLE = "COFRE_AIRFLOW_DBT_MODE"
"""Read by the DAG file (the edge): how Cosmos runs dbt, `local` (default) or `watcher`."""
MAINTENANCE_TIMEOUT = timedelta(minutes=30)
DBT_PROCESS_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false", "DO_NOT_TRACK": "1"}
"""The non-secret environment of the dbt tasks' processes (the profile's secrets come with the profile)."""


# -- the edge: settings and process environment ------------------------------------------------------


def load_settings() -> Settings:
    """The one Settings object, read from COFRE_* (the DAG file and each task are the edge)."""
    return Settings()


def prepare_environment() -> None:
    """What third-party libraries read from the environment, set before they are imported."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # dlt would look up Airflow Variables for every config value; cofre's secrets come from its vault.
    os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")


# -- task defaults and audit callbacks ---------------------------------------------------------------


def task_defaults(
    *,
    retries: int = RETRIES,
    retry_delay: timedelta = RETRY_DELAY,
    execution_timeout: timedelta = STEP_TIMEOUT,
) -> dict[str, Any]:
    """default_args of every cofre DAG: owner, retries with exponential backoff, a timeout, and
    callbacks that put each failed try in the audit trail."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": MAX_RETRY_DELAY,
        "execution_timeout": execution_timeout,
        "on_failure_callback": audit_task_failure,
        "on_retry_callback": audit_task_retry,
    }


def audit_task_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: the task failed for good."""
    record_task_failure(context, will_retry=False)


def audit_task_retry(context: Mapping[str, Any]) -> None:
    """on_retry_callback: the try failed and Airflow will retry it; the failure is still evidence."""
    record_task_failure(context, will_retry=True)


def record_task_failure(context: Mapping[str, Any], *, will_retry: bool) -> None:
    """Append an `airflow.task` failure event; a callback never raises (it would hide the real error)."""
    try:
        from orchestration.services import open_vault
        from security.audit import AuditTrail, default_actor

        settings = load_settings()
        ti = context.get("ti") or context.get("task_instance")
        dag_run = context.get("dag_run")
        error = context.get("exception")
        trail = AuditTrail.for_vault(
            settings.audit_path, open_vault(settings), actor=f"airflow:{default_actor()}"
        )
        trail.record(
            "airflow.task",
            target="/".join(
                str(part)
                for part in (
                    getattr(ti, "dag_id", "?"),
                    getattr(dag_run, "run_id", "?"),
                    getattr(ti, "task_id", "?"),
                )
            ),
            outcome="failure",
            details={
                "try_number": getattr(ti, "try_number", None),
                "will_retry": will_retry,
                "error": describe_error(error) if isinstance(error, BaseException) else str(error or ""),
            },
        )
    except Exception:  # the task's own failure is what Airflow must report
        log.exception("could not write the task failure to the audit trail")


# -- running one step --------------------------------------------------------------------------------


class _LogTask:
    def __init__(self, description: str, total: int | None) -> None:
        self.description, self.total, self.completed = description, total, 0
        self._last = 0.0

    def advance(self, amount: int = 1) -> None:
        self.update(self.completed + amount)

    def update(self, completed: int, total: int | None = None) -> None:
        self.completed = completed
        self.total = total if total is not None else self.total
        now = time.monotonic()
        if now - self._last >= 5:  # a line every few seconds, not one per row
            self._last = now
            of = f" of {self.total:,}" if self.total else ""
            log.info("%s: %s%s", self.description, f"{completed:,}", of)


class LogReporter:
    """graph.Reporter as log lines: under Airflow, progress goes to the task log."""

    def task(self, description: str, total: int | None = None) -> ProgressTask:
        log.info("%s", description)
        return _LogTask(description, total)

    def log(self, message: str) -> None:
        log.info("%s", message)


def cofre_run_id(dag_run_id: str) -> str:
    """The run id steps and the audit trail see: Airflow's, marked as such."""
    return f"airflow:{dag_run_id}"


def run_step(name: str, *, run_id: str, graph: StepGraph | None = None) -> dict[str, Any]:
    """Run step `name` of the step graph, as the embedded runner does, and return what it produced
    (counts, outputs, notes; small enough for XCom). A failure raises, so Airflow retries the task."""
    prepare_environment()
    from orchestration.graph import StepContext
    from orchestration.services import build_services
    from orchestration.steps import PIPELINE

    graph = graph or PIPELINE
    settings = load_settings()
    services = build_services(settings, actor="airflow")
    step = graph[name]
    context = StepContext(settings=settings, run_id=run_id, reporter=LogReporter(), services=services)
    started = time.perf_counter()
    try:
        result = step.run(context)
    except Exception as error:
        services.audit.record(
            "step.run",
            target=f"{run_id}/{name}",
            outcome="failure",
            details={"error": describe_error(error), "orchestrator": "airflow"},
        )
        raise
    summary = asdict(result)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def step_task_id(name: str) -> str:
    return name


# -- the run record: ops tables for Airflow runs, as `cofre run` writes them --------------------------

RECORD_TASK = "record_run"
_STEP_STATUS = {"success": "succeeded", "skipped": "succeeded", "failed": "failed"}


def record_airflow_run(
    graph: StepGraph,
    *,
    run_id: str,
    started_at: datetime | None,
    task_outcomes: Iterable[Mapping[str, Any]],
    results: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, int]:
    """Write an Airflow run to the ops tables exactly as the embedded runner writes its runs (so the
    dashboard's operations page, Grafana and their alerts see scheduled runs): one row per step with
    its status, seconds (the sum of its tasks' durations: a dbt step is a task group) and rows (from
    the step task's XCom), then the audit mirror and a fresh verification of the trail.

    `task_outcomes` are Airflow's breadcrumbs of the run's finished tasks (task_id, state, duration);
    `results` the XCom of each Python step's task."""
    prepare_environment()
    from orchestration.graph import StepResult, TableCount
    from orchestration.ops import record_run
    from orchestration.runner import RunRecord, StepRun
    from orchestration.services import build_services

    settings = load_settings()
    services = build_services(settings, actor="airflow")
    by_step: dict[str, list[Mapping[str, Any]]] = {}
    for outcome in task_outcomes:
        name = str(outcome["task_id"]).split(".", 1)[0].removesuffix("_done")
        by_step.setdefault(name, []).append(outcome)
    errors = {
        event["target"]: event["details"].get("error")
        for event in services.audit.events()
        if event["action"] == "step.run" and event["outcome"] == "failure"
    }
    steps = []
    for step in graph.order():
        outcomes = by_step.get(step.name, [])
        states = {_STEP_STATUS.get(str(o["state"]), "not run") for o in outcomes}
        status = "failed" if "failed" in states else "succeeded" if states == {"succeeded"} else "not run"
        seconds = sum(float(o.get("duration") or 0) for o in outcomes)
        result = results.get(step.name)
        counts = [TableCount(**c) for c in result["counts"]] if result and status == "succeeded" else []
        error = None
        if status == "failed":
            failed = sorted(str(o["task_id"]) for o in outcomes if str(o["state"]) == "failed")
            error = errors.get(f"{run_id}/{step.name}") or f"failed task(s): {', '.join(failed)}"
        steps.append(StepRun(step.name, status, seconds, StepResult(counts=counts), error))
    record = RunRecord(
        run_id=run_id,
        started_at=(started_at or datetime.now(UTC)).isoformat(),
        finished_at=datetime.now(UTC).isoformat(),
        status="failed" if any(s.status != "succeeded" for s in steps) else "succeeded",
        steps=steps,
    )
    return record_run(settings, services, record)


def record_task(graph: StepGraph) -> Any:
    """The DAG's last task: records the run in the ops tables whatever happened (a teardown, so it runs
    after failures too and its own outcome does not decide the run's state)."""
    from airflow.sdk import get_current_context, task
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    @task(task_id=RECORD_TASK, doc="record the run in ops.pipeline_runs, ops.audit_events, ops.audit_checks")
    def record() -> dict[str, int]:
        context = get_current_context()
        ti, dag_run = context["ti"], context["dag_run"]
        outcomes = [
            crumb
            for crumb in RuntimeTaskInstance.get_task_breadcrumbs(dag_run.dag_id, dag_run.run_id)
            if crumb["task_id"] != RECORD_TASK
        ]
        names = [s.name for s in graph.order() if s.name not in DBT_STEPS]
        results = {name: ti.xcom_pull(task_ids=step_task_id(name)) for name in names}
        return record_airflow_run(
            graph,
            run_id=cofre_run_id(dag_run.run_id),
            started_at=dag_run.start_date,
            task_outcomes=outcomes,
            results=results,
        )

    return record().as_teardown()


# -- assets ------------------------------------------------------------------------------------------


def asset_of(output: str) -> Asset:
    """The Airflow asset of a step output (`cofre://raw/olist`): producers list it as an outlet, and a
    consumer DAG can be scheduled on it."""
    from airflow.sdk import Asset

    return Asset(name=output, uri=output, group="cofre")


# -- dbt manifest and the Cosmos task group ----------------------------------------------------------


def manifest_dir(settings: Settings) -> Path:
    return settings.home / "dbt" / "airflow"


def manifest_path(settings: Settings) -> Path:
    return manifest_dir(settings) / "manifest.json"


def dbt_selection(step: str) -> tuple[str, ...]:
    """The `--select` of a dbt step's `dbt build`, which Cosmos renders the step's task group from."""
    from orchestration.dbt import MARTS_SELECT, SILVER_SELECT

    return {"transform_silver": SILVER_SELECT, "transform_marts": MARTS_SELECT}[step]


def dbt_vars(settings: Settings) -> dict[str, str]:
    """The vars the dbt steps pass: on PostgreSQL the marts are built into a private schema
    and published after the gates; on DuckDB into the project's default `marts_schema` (imported
    lazily: orchestration.publish pulls in psycopg2, too slow for a DAG file's parse)."""
    if settings.target != "postgres":
        return {}
    from orchestration.publish import BUILD_SCHEMA

    return {"marts_schema": BUILD_SCHEMA}


def project_fingerprint(settings: Settings) -> str:
    """Changes when any file of the dbt project changes, or the target or the vars do."""
    from orchestration.dbt import TRANSFORM_DIR

    digest = hashlib.sha256(json.dumps([settings.target, dbt_vars(settings)]).encode())
    for path in sorted(TRANSFORM_DIR.rglob("*")):
        relative = path.relative_to(TRANSFORM_DIR)
        if not path.is_file() or relative.parts[0] in ("target", "logs", "dbt_packages"):
            continue
        stat = path.stat()
        digest.update(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def manifest_is_current(settings: Settings) -> bool:
    stamp = manifest_dir(settings) / "fingerprint"
    return (
        manifest_path(settings).exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8") == project_fingerprint(settings)
    )


def produce_manifest(settings: Settings) -> Path:
    """`dbt parse` into the state directory, kept where Cosmos renders from (not dbt's target/, which
    every `dbt build` rewrites), the step-graph snapshot, and the connection the dbt tasks' profile comes
    from (`store_warehouse_connection`). The masking key reaches dbt only through its environment."""
    prepare_environment()
    from orchestration.dbt import run_dbt
    from orchestration.services import build_services

    services = build_services(settings, actor="airflow")
    parsed = run_dbt(["parse", "--vars", json.dumps(dbt_vars(settings))], settings, services.vault)
    if not parsed.success or parsed.target_path is None:
        raise RuntimeError("dbt parse failed: " + "; ".join(parsed.failures))
    folder = manifest_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "manifest.json.tmp"
    shutil.copyfile(parsed.target_path / "manifest.json", tmp)
    os.replace(tmp, manifest_path(settings))
    (folder / "fingerprint").write_text(project_fingerprint(settings), encoding="utf-8")
    write_graph_snapshot(settings)
    store_warehouse_connection(settings)
    return manifest_path(settings)


class ManifestMissing(RuntimeError):
    """The DAG renders from a dbt manifest that was not produced yet."""


def require_manifest(settings: Settings) -> Path:
    """The manifest, as the DAG file needs it: never produced at parse time (`dbt parse` takes longer
    than Airflow's import timeout); a stale one is used, with a warning."""
    path = manifest_path(settings)
    if not path.exists():
        raise ManifestMissing(
            f"no dbt manifest at {path}: run `cofre airflow manifest` (with the same COFRE_HOME) "
            "after installing or changing the dbt project"
        )
    if not manifest_is_current(settings):
        log.warning("the dbt project changed since %s was produced: run `cofre airflow manifest`", path)
    return path


def ensure_manifest(settings: Settings) -> Path:
    """The manifest Cosmos renders from; produced only when missing or the project changed."""
    return manifest_path(settings) if manifest_is_current(settings) else produce_manifest(settings)


WAREHOUSE_CONN_ID = "cofre_warehouse"
"""The Airflow connection the dbt tasks' profile comes from, served from the vault (airflow_profiles)."""


def warehouse_connection(settings: Settings, vault: Vault) -> str:
    """Connection `cofre_warehouse` as Airflow's connection JSON: where the warehouse is (settings) and
    the secrets dbt needs there (vault): the masking key, and on PostgreSQL the password."""
    from security.errors import SecretNotFound
    from security.secret_names import MASKING_KEY, PG_PASSWORD

    masking_key = vault.get(MASKING_KEY)
    if settings.target == "duckdb":
        return json.dumps(
            {"conn_type": "duckdb", "host": str(settings.warehouse_path), "password": masking_key}
        )
    try:
        password = vault.get(PG_PASSWORD)
    except SecretNotFound:
        password = ""  # trust authentication (a server on this machine)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": settings.pg_host,
            "port": settings.pg_port,
            "login": settings.pg_user,
            "password": password,
            "schema": settings.pg_database,
            "extra": {"masking_key": masking_key},
        }
    )


def store_warehouse_connection(settings: Settings) -> str:
    """Write connection `cofre_warehouse` into the vault (entry `airflow_conn_cofre_warehouse`), where
    the secrets backend serves it: never into Airflow's database. Rewritten by every `cofre airflow
    manifest`, so it follows the settings and the vault's secrets. Returns the entry's name."""
    from orchestration.services import open_vault
    from security.audit import AuditTrail, default_actor
    from security.secret_names import AIRFLOW_CONN_PREFIX

    vault = open_vault(settings)
    trail = AuditTrail.for_vault(settings.audit_path, vault, actor=f"airflow:{default_actor()}")
    name = AIRFLOW_CONN_PREFIX + WAREHOUSE_CONN_ID
    replaced = name in vault.names()
    vault.set(name, warehouse_connection(settings, vault))
    trail.record("secret.write", target=name, details={"replaced": replaced})
    return name


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

    from orchestration.airflow_dbt_tests import add_test_tasks
    from orchestration.airflow_profiles import PROFILE_MAPPINGS
    from orchestration.dbt import INDIRECT_SELECTION, TRANSFORM_DIR, _dbt_executable

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
            dbt_vars=dbt_vars(settings),
            env_vars=DBT_PROCESS_ENV,
        ),
        profile_config=profile_config,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=_dbt_executable(),
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
            select=list(dbt_selection(step)),
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
            "vars": dbt_vars(settings),
            "dbt_executable_path": _dbt_executable(),
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


# -- the ELT DAG's tasks, from the step graph -------------------------------------------------------


def step_task(name: str, graph: StepGraph) -> Any:
    """A TaskFlow task running step `name` of THE pipeline (looked up by name at run time, so the task
    runs the very step `cofre run` runs); its outlets are the assets of the step's outputs."""
    from airflow.sdk import get_current_context, task

    step = graph[name]

    @task(task_id=step_task_id(name), outlets=[asset_of(o) for o in step.outputs], doc=step.description)
    def run() -> dict[str, Any]:
        dag_run = get_current_context()["dag_run"]
        return run_step(name, run_id=cofre_run_id(dag_run.run_id))

    return run()


# -- the step graph at parse time: a snapshot, like the dbt manifest ---------------------------------

ORCHESTRATION_DIR = Path(__file__).resolve().parent


def snapshot_path(settings: Settings) -> Path:
    return manifest_dir(settings) / "steps.json"


def _code_fingerprint() -> str:
    """Changes when any module that may define steps changes (the graph is built from them)."""
    digest = hashlib.sha256()
    for folder in (ORCHESTRATION_DIR, ORCHESTRATION_DIR.parent / "ingestion"):
        for path in sorted(folder.glob("*.py")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def write_graph_snapshot(settings: Settings) -> Path:
    """Names, descriptions, inputs and outputs of THE pipeline's steps, for the DAG file to read.

    Importing the steps pulls in dlt and every source (seconds); the DAG file reads this JSON instead
    and stays fast. Tasks still import the real steps and run them by name."""
    from orchestration.steps import PIPELINE

    steps = [
        {"name": s.name, "description": s.description, "inputs": s.inputs, "outputs": s.outputs}
        for s in PIPELINE.steps.values()
    ]
    path = snapshot_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": _code_fingerprint(), "steps": steps}, indent=2), "utf-8")
    os.replace(tmp, path)
    return path


def _not_here(ctx: Any) -> Any:
    raise RuntimeError("a snapshot step is run through run_step(name), which imports the real step")


def graph_snapshot(settings: Settings) -> StepGraph:
    """THE step graph's shape (same order and dependencies, computed by StepGraph itself), from the
    snapshot; rewritten first when missing or when the code changed."""
    from orchestration.graph import Step, StepGraph

    path = snapshot_path(settings)
    data = json.loads(path.read_text("utf-8")) if path.exists() else {}
    if data.get("fingerprint") != _code_fingerprint():
        write_graph_snapshot(settings)
        data = json.loads(path.read_text("utf-8"))
    return StepGraph(
        Step(s["name"], s["description"], _not_here, tuple(s["inputs"]), tuple(s["outputs"]))
        for s in data["steps"]
    )


def build_elt_tasks(
    settings: Settings, graph: StepGraph | None = None, *, dbt_mode: str = "local"
) -> dict[str, Any]:
    """Inside a DAG context: one task per step of `graph` (default: THE pipeline), each dbt step as a
    Cosmos task group, wired by the graph's own dependencies. Returns the task (or group) by step."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    graph = graph or graph_snapshot(settings)
    nodes: dict[str, Any] = {}
    for step in graph.order():
        if step.name in DBT_STEPS:
            group = dbt_task_group(settings, step.name, mode=dbt_mode)
            # The group's last task marks the step's outputs updated, as a Python step's task does.
            done = EmptyOperator(task_id=f"{step.name}_done", outlets=[asset_of(o) for o in step.outputs])
            group >> done
            nodes[step.name] = (group, done)
        else:
            nodes[step.name] = step_task(step.name, graph)
    for step in graph.order():
        for upstream in sorted(graph.upstream(step.name)):
            before, after = nodes[upstream], nodes[step.name]
            before = before[1] if isinstance(before, tuple) else before
            after = after[0] if isinstance(after, tuple) else after
            before >> after
    record = record_task(graph)
    for node in nodes.values():
        (node[1] if isinstance(node, tuple) else node) >> record
    nodes[RECORD_TASK] = record
    return nodes


# -- maintenance: lifecycle and key rotation ---------------------------------------------------------


def run_lifecycle(*, run_id: str) -> dict[str, Any]:
    """Move bronze loads older than the retention to the cold layer (ingestion.lifecycle.run); every
    move is a `lifecycle.move` audit event."""
    prepare_environment()
    from ingestion import lifecycle
    from orchestration.services import build_services

    settings = load_settings()
    services = build_services(settings, actor="airflow")
    report = lifecycle.run(services.lake, older_than_days=settings.retention_days, audit=services.audit)
    log.info("%s: moved %d load(s), %d objects", run_id, len(report.moves), report.objects)
    return {"moves": [asdict(m) for m in report.moves], "objects": report.objects, "bytes": report.bytes}


def rotate_vault_key(*, run_id: str) -> dict[str, Any]:
    """`cofre vault rotate`: re-encrypt every entry under a new key version, retire the old key, and
    record the outcome in the audit trail (a failure too, then raise)."""
    from orchestration.services import open_vault
    from security.audit import AuditTrail, default_actor
    from security.errors import CofreSecurityError

    settings = load_settings()
    vault = open_vault(settings)
    trail = AuditTrail.for_vault(settings.audit_path, vault, actor=f"airflow:{default_actor()}")
    try:
        report = vault.rotate(on_step=lambda step: log.info("rotation: %s", step.replace("_", " ")))
    except CofreSecurityError as error:
        trail.record(
            "vault.rotate",
            target=str(vault.path),
            outcome="failure",
            details={"error": type(error).__name__, "run_id": run_id},
        )
        raise
    details = {
        "old_version": report.old_version,
        "new_version": report.new_version,
        "entries": report.entries,
    }
    trail.record("vault.rotate", target=str(vault.path), details={**details, "run_id": run_id})
    return details


class AuditTampered(RuntimeError):
    """`audit verify` found an edited, deleted or reordered event."""


def verify_audit_trail() -> dict[str, Any]:
    """`cofre audit verify`: check every event's chain and MAC; raise if the trail was altered."""
    from orchestration.services import open_vault
    from security.audit import AuditTrail, default_actor

    settings = load_settings()
    trail = AuditTrail.for_vault(
        settings.audit_path, open_vault(settings), actor=f"airflow:{default_actor()}"
    )
    report = trail.verify()
    if not report.ok:
        raise AuditTampered(
            f"audit trail tampered at line {report.line} (seq {report.seq}): {report.reason}; "
            f"{report.events} events before it verify (see docs/security.md)"
        )
    return {"events": report.events, "note": report.note}


def measure_parse(path: Path) -> tuple[float, int]:
    """Seconds to execute a DAG file and its task count. Parse time is what the DAG processor pays for
    every file on every loop, so it is kept well under a second (callers warm the one-off imports first:
    see `parse_times`)."""
    import importlib.util

    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location(f"_cofre_dag_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seconds = time.perf_counter() - started
    return seconds, len(module.dag.tasks)


STEADY_PARSES = 3


def parse_times(path: Path) -> tuple[float, float, int]:
    """(first, steady, tasks): the first parse in this process pays one-off costs (importing Cosmos,
    Airflow loading its plugins on the first object-storage path); the steady one is what each later
    parse costs, as in a long-running DAG processor: the median of a few parses, so one parse slowed
    by another process on a shared machine does not stand for the DAG file's cost."""
    first, tasks = measure_parse(path)
    steady = sorted(measure_parse(path)[0] for _ in range(STEADY_PARSES))[STEADY_PARSES // 2]
    return first, steady, tasks
