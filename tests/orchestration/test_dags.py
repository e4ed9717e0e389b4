"""DAG integrity: every DAG file imports without error, has no cycle, and every task has an owner,
retries with backoff, a timeout and the audit callbacks; the ELT DAG maps the step graph one to one, with
a task per dbt model, seed and test in its two dbt task groups; the DAG files parse in under a second."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.airflow.dbt_group import dbt_node_names
from orchestration.airflow.defaults import DBT_STEPS, audit_task_failure, audit_task_retry
from orchestration.airflow.maintenance import rotate_vault_key, run_lifecycle, verify_audit_trail
from orchestration.airflow.manifest import WAREHOUSE_CONN_ID, produce_manifest, warehouse_connection
from orchestration.airflow.parse import parse_times
from orchestration.airflow.tasks import RECORD_TASK
from orchestration.environment import DAGS_DIR
from orchestration.settings import Settings

pytestmark = pytest.mark.integration
DAG_IDS = {"cofre_elt", "cofre_lifecycle", "cofre_key_rotation"}


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A fresh state directory with the dbt manifest and step snapshot, and Airflow pointed at tmp."""
    root = tmp_path_factory.mktemp("dags")
    env = {
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__COSMOS__CACHE_DIR": str(root / "cosmos"),
        "DO_NOT_TRACK": "1",
        "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
        "COFRE_HOME": str(root / "state"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = Settings()
    produce_manifest(settings)
    yield settings
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def dags(airflow_env: Settings) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return dict(bag.dags)


def test_every_dag_file_imports_and_is_sound(dags: dict[str, Any]) -> None:
    assert set(dags) == DAG_IDS
    for dag in dags.values():
        dag.validate()
        dag.topological_sort()  # raises on a cycle
        assert "cofre" in dag.tags
        assert dag.max_active_runs == 1 and not dag.catchup
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            assert task.owner == "cofre", where
            assert task.retries >= 1 and task.retry_exponential_backoff, where
            assert task.execution_timeout is not None, where
            assert audit_task_failure in _callbacks(task.on_failure_callback), where
            assert audit_task_retry in _callbacks(task.on_retry_callback), where


def _callbacks(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def test_elt_dag_is_the_step_graph(dags: dict[str, Any]) -> None:
    from orchestration.steps import PIPELINE

    dag = dags["cofre_elt"]
    dbt_steps = DBT_STEPS

    def task_of(step: str) -> str:
        return f"{step}_done" if step in dbt_steps else step

    for step in PIPELINE.order():
        producers = {task_of(u) for u in PIPELINE.upstream(step.name)}
        outlets = {a.uri for a in dag.get_task(task_of(step.name)).outlets}
        assert outlets == set(step.outputs), step.name
        if step.name not in dbt_steps:
            assert set(dag.get_task(step.name).upstream_task_ids) == producers, step.name
            continue
        # A dbt step is a task group: its first tasks start after the producers of the step's inputs,
        # and nothing else of the DAG runs inside it.
        inside = {t.task_id for t in dag.tasks if t.task_id.startswith(f"{step.name}.")}
        entries = {t for t in inside if set(dag.get_task(t).upstream_task_ids) - inside}
        assert entries, step.name
        for task_id in entries:
            assert set(dag.get_task(task_id).upstream_task_ids) - inside == producers, task_id
    # Last, whatever happened: the run is recorded in the ops tables (a teardown: it does not decide the
    # run's state, so a failed step still fails the run).
    record = dag.get_task(RECORD_TASK)
    assert record.is_teardown and record.upstream_task_ids == {task_of(s.name) for s in PIPELINE.order()}
    order = [s.name for s in PIPELINE.order()]
    assert order.index("transform_silver") < order.index("export_silver") < order.index("load_gold")
    assert order.index("load_gold") < order.index("transform_marts") < order.index("publish_marts")


def test_cosmos_renders_every_model_seed_and_test(dags: dict[str, Any], airflow_env: Settings) -> None:
    """One task per model and seed (Cosmos) and one per test and unit test (cofre), each in exactly one
    of the two dbt task groups; a test runs after the tasks of its parents in its group."""
    dag = dags["cofre_elt"]
    nodes = dbt_node_names(airflow_env)
    ids = set(dag.task_ids)

    def groups_with(suffixed: str) -> list[str]:
        return [g for g in DBT_STEPS if f"{g}.{suffixed}" in ids]

    for model in nodes["model"]:
        assert len(groups_with(f"{model}_run")) == 1, model
    for seed in nodes["seed"]:
        assert groups_with(f"{seed}_seed") == ["transform_silver"], seed
    tests = nodes["test"] + nodes["unit_test"]
    assert len(nodes["test"]) > 100 and nodes["unit_test"]
    for test in tests:
        assert len(groups_with(f"{test}_test")) == 1, test
    test_tasks = [t for t in ids if t.endswith("_test")]
    assert len(test_tasks) == len(tests) == len(set(tests))
    assert groups_with("not_null_stg_olist__orders_order_id_test") == ["transform_silver"]
    # Compares silver with the marts: runs with the marts, after both are built.
    assert groups_with("assert_item_revenue_reconciles_to_silver_test") == ["transform_marts"]
    reconcile = dag.get_task("transform_marts.assert_item_revenue_reconciles_to_silver_test")
    assert "transform_marts.fct_order_items_run" in reconcile.upstream_task_ids
    # Compares Spark's gold with silver: with the marts, after load_gold, never in the silver group.
    assert groups_with("assert_gold_reconciles_to_silver_test") == ["transform_marts"]
    unique = dag.get_task("transform_silver.unique_orders_order_id_test")
    assert unique.upstream_task_ids == {"transform_silver.orders_run"}


def test_dag_files_parse_in_under_a_second(dags: dict[str, Any]) -> None:
    """Parse time as a running DAG processor pays it on every loop (one-off imports and plugin loading
    already done): rendering from the manifest, not `dbt ls`. The numbers are printed for the report."""
    for path in sorted(DAGS_DIR.glob("*.py")):
        first, steady, tasks = parse_times(path)
        print(f"parse {path.name}: first {first:.3f} s, steady {steady:.3f} s, {tasks} tasks")
        assert steady < 1.0, (path.name, steady)


def test_maintenance_tasks_rotate_then_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What cofre_key_rotation and cofre_lifecycle run, on a fresh state directory."""
    from orchestration.services import build_services, open_vault

    monkeypatch.setenv("COFRE_HOME", str(tmp_path / "state"))
    settings = Settings()
    build_services(settings)  # the vault and its generated secrets, as a first run creates them
    before = open_vault(settings).get("masking_key")
    rotated = rotate_vault_key(run_id="airflow:test")
    assert rotated["new_version"] == rotated["old_version"] + 1
    assert open_vault(settings).get("masking_key") == before  # same secrets, new key
    assert verify_audit_trail()["events"] > 0
    assert run_lifecycle(run_id="airflow:test")["moves"] == []  # nothing is old yet


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_the_dbt_profile_comes_from_the_connection_with_secrets_only_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """Connection `cofre_warehouse` (as the secrets backend serves it from the vault) becomes cofre's
    profile: the shape of transform/profiles.yml, where the warehouse is from the connection, and the
    masking key (and password) only in the dbt process's environment, never in the profiles.yml."""
    from airflow.sdk import Connection

    from orchestration.airflow.profiles import PROFILE_MAPPINGS
    from orchestration.services import build_services
    from security.credentials import DBT_MASKING_KEY_VAR, DBT_PG_PASSWORD_VAR

    monkeypatch.setenv("COFRE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("COFRE_TARGET", target)
    settings = Settings()
    vault = build_services(settings).vault
    if target == "postgres":
        vault.set("pg_password", "pg-secret-for-the-test")
    key = vault.get("masking_key")
    connection = Connection.from_json(warehouse_connection(settings, vault), conn_id=WAREHOUSE_CONN_ID)
    mapping = PROFILE_MAPPINGS[target](conn_id=WAREHOUSE_CONN_ID)
    mapping._conn = connection  # what BaseHook.get_connection returns through the backend
    written = mapping.get_profile_file_contents(profile_name="cofre", target_name=target)
    env = mapping.env_vars
    assert env[DBT_MASKING_KEY_VAR] == key
    assert key not in written and "DBT_ENV_SECRET_" in written
    if target == "duckdb":
        assert mapping.profile["path"] == str(settings.warehouse_path)
        assert mapping.profile["plugins"][0]["module"] == "security.dbt_duckdb_masking"
    else:
        assert env[DBT_PG_PASSWORD_VAR] == "pg-secret-for-the-test"
        assert "pg-secret-for-the-test" not in written
        assert f"cofre.masking_key={key}" in env["PGOPTIONS"]
        profile = mapping.profile
        assert (profile["host"], profile["port"], profile["user"], profile["dbname"]) == (
            settings.pg_host,
            settings.pg_port,
            settings.pg_user,
            settings.pg_database,
        )
