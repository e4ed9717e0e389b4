"""`cofre airflow ...`: run cofre's DAGs in a local Airflow, or prepare them for a real deployment.

The environment Airflow needs is derived from the settings in one place
(`orchestration.environment.airflow_environment`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.cli.state import state_of
from orchestration.environment import DAGS_DIR, airflow_environment, prepare_process
from security.child_env import child_environment

app = typer.Typer(
    help="Run cofre's DAGs in a local Airflow (standalone), or prepare a real deployment.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
stdout = Console(highlight=False, soft_wrap=True)


@app.command()
def manifest(ctx: typer.Context) -> None:
    """Write the dbt manifest and the step-graph snapshot the DAG files render from (at deploy time, and
    after changing the dbt project: a DAG file never runs dbt), and the vault's entry of connection
    `cofre_warehouse`, the dbt tasks' profile (after changing the warehouse settings too)."""
    settings = state_of(ctx).settings()
    prepare_process(settings, for_airflow=True)
    from orchestration.airflow.manifest import WAREHOUSE_CONN_ID, produce_manifest, snapshot_path

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
    prepare_process(settings, for_airflow=True)
    from airflow.sdk import DAG  # noqa: F401 (the DAG processor has Airflow imported)

    from orchestration.airflow.manifest import ensure_manifest, graph_snapshot
    from orchestration.airflow.parse import parse_times

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
    host: Annotated[
        str, typer.Option("--host", help="Address the UI listens on (default: this machine only).")
    ] = "127.0.0.1",
) -> None:
    """Start Airflow standalone (scheduler, API server, DAG processor, triggerer) with AIRFLOW_HOME in
    the state directory; open http://localhost:PORT (the admin password is printed by Airflow)."""
    settings = state_of(ctx).settings()
    prepare_process(settings, for_airflow=True)
    from orchestration.airflow.manifest import ensure_manifest, store_warehouse_connection

    stdout.print("preparing the dbt manifest, the step graph snapshot and the warehouse connection...")
    ensure_manifest(settings)
    store_warehouse_connection(settings)  # in the vault, served by the secrets backend
    bin_dir = Path(sys.executable).parent  # standalone starts its parts as `airflow ...` from PATH
    env = child_environment(
        "airflow",
        settings={
            **airflow_environment(settings),
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        },
    )
    executable = shutil.which("airflow", path=env["PATH"]) or "airflow"
    stdout.print(f"AIRFLOW_HOME={env['AIRFLOW_HOME']}; UI at http://{host}:{port} (Ctrl-C stops every part)")
    raise typer.Exit(run_process_group([executable, "standalone"], env))


def run_process_group(command: list[str], env: dict[str, str]) -> int:
    """Run `command` as the leader of a new process group and wait for it. SIGINT or SIGTERM to this
    process stops the whole group (Airflow standalone's scheduler with its executor workers, triggerer,
    API server and DAG processor), first with SIGTERM, then SIGKILL after a grace period, so nothing is
    left running. Returns the exit status."""
    process = subprocess.Popen(command, env=env, start_new_session=True)

    def stop(signum: int, _frame: object) -> None:
        for sig, wait_s in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=wait_s)
                if not _group_alive(process.pid):
                    break
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return process.wait()


GRACE_S = 20.0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
