"""`cofre_elt` end to end under Airflow's `dag.test()` on a tiny generated dataset on DuckDB.

The marts it publishes equal, row for row, those of `cofre run` on the same input (same generator
seed and scale, same vault, hence the same masking key); the dbt tasks' profile came from connection
`cofre_warehouse`, served from the vault by cofre's secrets backend; a task made to fail once succeeds on
its retry and both the failed try and the step failure are in the audit trail, which still verifies.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.airflow.defaults import DBT_MODE_VARIABLE
from orchestration.airflow.manifest import WAREHOUSE_CONN_ID, produce_manifest
from orchestration.environment import DAGS_DIR, airflow_environment
from orchestration.graph import StepContext, StepResult
from orchestration.settings import Settings
from security.audit import read_events
from security.state import default_config_home, locate_state

pytestmark = pytest.mark.integration
FLAKY_STEP = "ingest_ipca"
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_DIR))


def _cofre_run(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(COFRE_HOME=str(home), AIRFLOW_HOME=str(home / "airflow"), COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "orchestration", "run", "--scale", "0.01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`cofre run` in one state directory, then `dag.test()` of cofre_elt in another with the same
    vault; yields both homes and the finished Airflow run."""
    root = tmp_path_factory.mktemp("e2e")
    cli_home, airflow_home = root / "cli", root / "airflow-state"
    started = time.perf_counter()
    _cofre_run(cli_home)
    cli_seconds = time.perf_counter() - started
    # The same vault, opened with the same key (its file named explicitly: a state directory copied
    # alone gets no key of its own), so both runs mask with the same key and their tokens are equal.
    shutil.copytree(cli_home / "vault", airflow_home / "vault")
    key_file = locate_state(cli_home, config_home=default_config_home(os.environ)).key_file
    # as `cofre airflow standalone` sets it
    backend = airflow_environment(Settings(home=airflow_home, vault_key_file=key_file))
    env = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__COSMOS__CACHE_DIR": str(root / "cosmos"),
        "AIRFLOW__SECRETS__BACKEND": backend["AIRFLOW__SECRETS__BACKEND"],
        "AIRFLOW__SECRETS__BACKEND_KWARGS": backend["AIRFLOW__SECRETS__BACKEND_KWARGS"],
        "DO_NOT_TRACK": "1",
        "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
        "COFRE_HOME": str(airflow_home),
        "COFRE_VAULT_KEY_FILE": str(key_file),
        "COFRE_SCALE": "0.01",
        DBT_MODE_VARIABLE: "watcher",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from airflow.dag_processing.dagbag import DagBag
        from airflow.utils import db

        from orchestration.steps import PIPELINE

        db.initdb()
        settings = Settings()
        produce_manifest(settings)  # what `cofre airflow manifest` does
        events_before = sum(1 for _ in read_events(settings.audit_path))
        bag = DagBag(dag_folder=str(DAGS_DIR))
        assert bag.import_errors == {}
        events_parsed = sum(1 for _ in read_events(settings.audit_path))
        dag = bag.dags["cofre_elt"]
        for task in dag.tasks:
            task.retry_delay = timedelta(0)  # retry at once: the backoff is not under test here

        real = PIPELINE.steps[FLAKY_STEP]
        tries: list[int] = []

        def flaky(ctx: StepContext) -> StepResult:
            tries.append(1)
            if len(tries) == 1:
                raise ConnectionError("the BCB API dropped the connection (injected by the test)")
            return real.run(ctx)

        PIPELINE.steps[FLAKY_STEP] = dataclasses.replace(real, run=flaky)
        started = time.perf_counter()
        try:
            dag_run = dag.test()
        finally:
            PIPELINE.steps[FLAKY_STEP] = real
        print(f"cofre run: {cli_seconds:.0f} s; dag.test(): {time.perf_counter() - started:.0f} s")
        yield {
            "cli": cli_home,
            "airflow": airflow_home,
            "cosmos": root / "cosmos",
            "dag_run": dag_run,
            "tries": len(tries),
            "events": (events_before, events_parsed),
        }
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _marts(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    path = home / "warehouse" / "published" / "cofre_marts.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
        return {t: con.execute(f'select * from marts."{t}" order by all').fetchall() for (t,) in tables}


def test_airflow_run_succeeds_and_publishes_the_same_marts_as_cofre_run(runs: dict[str, Any]) -> None:
    assert str(runs["dag_run"].state) in ("success", "DagRunState.SUCCESS")
    via_cli, via_airflow = _marts(runs["cli"]), _marts(runs["airflow"])
    assert set(via_cli) >= {"dim_customer", "fct_orders", "fct_order_items"}
    assert set(via_airflow) == set(via_cli)
    for table, rows in via_cli.items():
        assert rows, table
        assert via_airflow[table] == rows, table


def test_a_task_failing_once_succeeds_on_retry_and_is_audited(runs: dict[str, Any]) -> None:
    from orchestration.services import open_audited

    assert runs["tries"] == 2
    settings = Settings(home=runs["airflow"])
    events = list(read_events(settings.audit_path))
    retried = [e for e in events if e["action"] == "airflow.task" and e["target"].endswith(f"/{FLAKY_STEP}")]
    assert len(retried) == 1 and retried[0]["outcome"] == "failure"
    assert retried[0]["details"]["will_retry"] is True
    assert "injected by the test" in retried[0]["details"]["error"]
    step_failures = [e for e in events if e["action"] == "step.run" and e["outcome"] == "failure"]
    assert [e["target"].rsplit("/", 1)[-1] for e in step_failures] == [FLAKY_STEP]
    assert any(e["action"] == "marts.publish" and e["actor"].startswith("airflow") for e in events)
    # The masking key was read from the vault by the dbt tasks, at run time, and audited.
    assert any(e["action"] == "secret.read" and e["actor"].startswith("airflow") for e in events)
    _, trail = open_audited(settings, actor="test")
    assert trail.verify().ok


def test_the_airflow_run_is_recorded_in_the_ops_tables_like_a_cofre_run(runs: dict[str, Any]) -> None:
    """The `record_run` teardown writes the run to ops (published for readers): every step of the graph
    succeeded (the flaky one on its retry), with its seconds and rows; the audit trail verified intact."""
    from orchestration.steps import PIPELINE

    ops = Settings(home=runs["airflow"]).published_ops_path
    with duckdb.connect() as con:
        con.execute(f"attach '{ops}' as ops (read_only)")
        rows = con.execute(
            "select run_id, run_status, step, step_status, seconds, rows "
            "from ops.pipeline_runs order by position"
        ).fetchall()
        check = con.execute("select ok from ops.audit_checks where run_id like 'airflow:%'").fetchall()
    assert {r[0] for r in rows} == {f"airflow:{runs['dag_run'].run_id}"}
    assert [r[2] for r in rows] == [s.name for s in PIPELINE.order()]
    assert {(r[1], r[3]) for r in rows} == {("succeeded", "succeeded")}
    assert all(r[4] > 0 for r in rows)
    by_step = {r[2]: r[5] for r in rows}
    assert by_step["ingest_olist"] > 0 and by_step["publish_marts"] > 0
    assert check == [(True,)]


def test_the_dbt_profile_came_from_the_vault_through_the_secrets_backend(runs: dict[str, Any]) -> None:
    """The dbt tasks of the run (which succeeded) got their profile from connection `cofre_warehouse`:
    the secrets backend read its vault entry during the run, and Airflow's database holds no connection."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    assert str(runs["dag_run"].state) in ("success", "DagRunState.SUCCESS")
    events = list(read_events(Settings(home=runs["airflow"]).audit_path))
    before, parsed = runs["events"]
    entry = f"airflow_conn_{WAREHOUSE_CONN_ID}"

    def reads(window: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in window if e["action"] == "secret.read" and e["target"] == entry]

    assert reads(events[before:parsed]) == []  # parsing the DAG reads no secret
    during_run = reads(events[parsed:])
    assert during_run and {e["actor"] for e in during_run} == {"airflow"}  # the backend's actor
    with create_session() as session:
        stored = session.query(Connection).filter(Connection.conn_id == WAREHOUSE_CONN_ID)
        assert stored.count() == 0


def test_no_secret_in_airflow_database_logs_or_state(runs: dict[str, Any]) -> None:
    """The dbt tasks got the masking key at run time only: it is in no file Airflow, Cosmos or cofre
    wrote (Airflow's metadata database with its rendered task fields, task logs, the profiles.yml Cosmos
    writes, dbt artifacts, the lake)."""
    from orchestration.services import open_vault
    from security.masking import duckdb_hmac_pads
    from security.secret_names import MASKING_KEY

    vault = open_vault(Settings(home=runs["airflow"]))
    needles = {value.encode() for value in vault.secret_values()}
    needles |= {pad.encode() for pad in duckdb_hmac_pads(vault.get(MASKING_KEY))}
    roots = [Path(os.environ["AIRFLOW_HOME"]), runs["airflow"], runs["cosmos"]]  # cosmos: profiles.yml
    leaks = [
        str(path)
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]
    assert leaks == []
