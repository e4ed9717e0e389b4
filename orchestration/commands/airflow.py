"""`cofre airflow ...`: run cofre's DAGs in a local Airflow, or prepare them for a real deployment.

The environment Airflow needs is derived from the settings in one place (`airflow_environment`):
AIRFLOW_HOME inside the state directory, the DAGs folder of this repository, no example DAGs, the Cosmos
cache in the state directory, and the cofre vault as Airflow's secrets backend (its key file's path
only: no key or credential is written to Airflow's configuration or database).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.cli_state import state_of
from orchestration.settings import Settings

app = typer.Typer(
    help="Run cofre's DAGs in a local Airflow (standalone), or prepare a real deployment.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
stdout = Console(highlight=False, soft_wrap=True)
DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
SECRETS_BACKEND = "security.airflow_backend.CofreVaultSecretsBackend"


def airflow_environment(settings: Settings) -> dict[str, str]:
    """Variables every Airflow component (scheduler, API server, DAG processor, workers) needs."""
    home = settings.home / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
        "AIRFLOW__SECRETS__BACKEND": SECRETS_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {
                "vault_path": str(settings.vault_path),
                "key_file": str(settings.vault_key_file),
                "audit_path": str(settings.audit_path),
            }
        ),
        "COFRE_HOME": str(settings.home),
        "COFRE_TARGET": settings.target,
        "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DO_NOT_TRACK": "1",
    }


def _prepare(settings: Settings) -> None:
    for name, value in airflow_environment(settings).items():
        os.environ[name] = value


@app.command()
def manifest(ctx: typer.Context) -> None:
    """Write the dbt manifest and the step-graph snapshot the DAG files render from (at deploy time, and
    after changing the dbt project: a DAG file never runs dbt), and the vault's entry of connection
    `cofre_warehouse`, the dbt tasks' profile (after changing the warehouse settings too)."""
    settings = state_of(ctx).settings()
    _prepare(settings)
    from orchestration.airflow_tasks import WAREHOUSE_CONN_ID, produce_manifest, snapshot_path

    started = time.perf_counter()
    path = produce_manifest(settings)
    stdout.print(f"dbt manifest: {path}\nstep graph:   {snapshot_path(settings)}")
    stdout.print(f"connection:   {WAREHOUSE_CONN_ID} (vault entry airflow_conn_{WAREHOUSE_CONN_ID})")
    stdout.print(f"({time.perf_counter() - started:.1f} s)")


@app.command("parse-time")
def parse_time(ctx: typer.Context) -> None:
    """Import each DAG file as Airflow's DAG processor does and print how long it took: the first time in
    this process, and again (the steady cost of every later parse)."""
    settings = state_of(ctx).settings()
    _prepare(settings)
    from airflow.sdk import DAG  # noqa: F401 (the DAG processor has Airflow imported)

    from orchestration.airflow_tasks import ensure_manifest, graph_snapshot, parse_times

    ensure_manifest(settings)
    graph_snapshot(settings)
    stdout.print(f"{'DAG file':<24} {'first':>8} {'steady':>8}  tasks")
    for path in sorted(DAGS_DIR.glob("*.py")):
        first, steady, tasks = parse_times(path)
        stdout.print(f"{path.name:<24} {first:7.3f}s {steady:7.3f}s  {tasks:5d}")
    stdout.print("first: with one-off imports and plugin loading; steady: each later parse")


@app.command()
def env(ctx: typer.Context) -> None:
    """Print the environment to give every Airflow component of a real deployment (no secret in it)."""
    settings = state_of(ctx).settings()
    for name, value in airflow_environment(settings).items():
        typer.echo(f"{name}={value!r}" if " " in value or '"' in value else f"{name}={value}")


@app.command()
def standalone(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port of the Airflow UI.")] = 8080,
) -> None:
    """Start Airflow standalone (scheduler, API server, DAG processor, triggerer) with AIRFLOW_HOME in
    the state directory; open http://localhost:PORT (the admin password is printed by Airflow)."""
    settings = state_of(ctx).settings()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    _prepare(settings)
    os.environ["AIRFLOW__API__PORT"] = str(port)
    from orchestration.airflow_tasks import ensure_manifest, prepare_environment, store_warehouse_connection

    prepare_environment()
    stdout.print("preparing the dbt manifest, the step graph snapshot and the warehouse connection...")
    ensure_manifest(settings)
    store_warehouse_connection(settings)  # in the vault, served by the secrets backend
    bin_dir = Path(sys.executable).parent  # standalone starts its parts as `airflow ...` from PATH
    os.environ["PATH"] = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    executable = shutil.which("airflow") or "airflow"
    stdout.print(f"AIRFLOW_HOME={os.environ['AIRFLOW_HOME']}; UI at http://localhost:{port}")
    os.execv(executable, [executable, "standalone"])  # noqa: S606 (no shell: a fixed argument list)
