"""DAG integrity: every DAG file imports without error, has no cycle, and every task has an owner,
retries with backoff, a timeout and the audit callbacks; the ELT DAG maps the step graph one to one and
Cosmos renders every dbt model and its tests as tasks; the DAG files parse in under a second."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration import airflow_tasks
from orchestration.settings import Settings

pytestmark = pytest.mark.integration
DAGS_DIR = Path(airflow_tasks.__file__).parent / "dags"
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
    airflow_tasks.produce_manifest(settings)
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
            assert airflow_tasks.audit_task_failure in _callbacks(task.on_failure_callback), where
            assert airflow_tasks.audit_task_retry in _callbacks(task.on_retry_callback), where


def _callbacks(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def test_elt_dag_is_the_step_graph(dags: dict[str, Any]) -> None:
    from orchestration.steps import PIPELINE

    dag = dags["cofre_elt"]
    for step in PIPELINE.order():
        if step.name == airflow_tasks.TRANSFORM_STEP:
            done = dag.get_task(f"{step.name}_done")
            assert {a.uri for a in done.outlets} == set(step.outputs)
            continue
        task = dag.get_task(step.name)
        assert {a.uri for a in task.outlets} == set(step.outputs)
        upstream = set(task.upstream_task_ids)
        expected = {
            f"{u}_done" if u == airflow_tasks.TRANSFORM_STEP else u for u in PIPELINE.upstream(step.name)
        }
        assert upstream == expected, step.name
    # Each transform task starts only after the producers of its inputs.
    transform_roots = [
        t
        for t in dag.tasks
        if t.task_id.startswith("transform.")
        and not t.upstream_task_ids - {"ingest_olist", "ingest_ipca", "ingest_weather"}
    ]
    assert transform_roots


def test_cosmos_renders_every_model_and_its_tests(dags: dict[str, Any], airflow_env: Settings) -> None:
    dag = dags["cofre_elt"]
    nodes = airflow_tasks.dbt_node_names(airflow_env)
    ids = set(dag.task_ids)
    for model in nodes["model"]:
        assert f"transform.{model}_run" in ids or f"transform.{model}.run" in ids, model
    for seed in nodes["seed"]:
        assert f"transform.{seed}_seed" in ids or f"transform.{seed}.seed" in ids, seed
    tested = _tested_models(airflow_env)
    for model in tested:
        assert f"transform.{model}.test" in ids, model
    assert len(nodes["test"]) > 50  # every one runs in its model's test task


def _tested_models(settings: Settings) -> set[str]:
    import json

    manifest = json.loads(airflow_tasks.manifest_path(settings).read_text())
    models = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test":
            parents = [p for p in node["depends_on"]["nodes"] if p.startswith("model.")]
            if len(parents) == 1:
                models.add(parents[0].split(".")[-1])
    return models


def test_dag_files_parse_in_under_a_second(dags: dict[str, Any]) -> None:
    """Parse time as a running DAG processor pays it on every loop (one-off imports and plugin loading
    already done): rendering from the manifest, not `dbt ls`. The numbers are printed for the report."""
    for path in sorted(DAGS_DIR.glob("*.py")):
        first, steady, tasks = airflow_tasks.parse_times(path)
        print(f"parse {path.name}: first {first:.3f} s, steady {steady:.3f} s, {tasks} tasks")
        assert steady < 1.0, (path.name, steady)


def test_maintenance_tasks_rotate_then_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What cofre_key_rotation and cofre_lifecycle run, on a fresh state directory."""
    from orchestration.services import build_services, open_vault

    monkeypatch.setenv("COFRE_HOME", str(tmp_path / "state"))
    settings = Settings()
    build_services(settings)  # the vault and its generated secrets, as a first run creates them
    before = open_vault(settings).get("masking_key")
    rotated = airflow_tasks.rotate_vault_key(run_id="airflow:test")
    assert rotated["new_version"] == rotated["old_version"] + 1
    assert open_vault(settings).get("masking_key") == before  # same secrets, new key
    assert airflow_tasks.verify_audit_trail()["events"] > 0
    assert airflow_tasks.run_lifecycle(run_id="airflow:test")["moves"] == []  # nothing is old yet
