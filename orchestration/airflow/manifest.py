"""What the DAG files render from, produced at deploy time (`cofre airflow manifest`), never at parse:
the dbt manifest, a snapshot of the step graph's shape, and the vault entry of connection
`cofre_warehouse` that the dbt tasks' profile comes from (served by the secrets backend, never stored in
Airflow's database). The masking key reaches dbt only through its environment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.environment import prepare_process
from orchestration.settings import Settings
from orchestration.warehouse.dbt_project import TRANSFORM_DIR, layer_vars

if TYPE_CHECKING:
    from orchestration.graph import StepGraph
    from security.vault import Vault

log = logging.getLogger(__name__)


def manifest_dir(settings: Settings) -> Path:
    return settings.home / "dbt" / "airflow"


def manifest_path(settings: Settings) -> Path:
    return manifest_dir(settings) / "manifest.json"


def project_fingerprint(settings: Settings) -> str:
    """Changes when any file of the dbt project changes, or the target or the vars do."""
    digest = hashlib.sha256(json.dumps([settings.target, layer_vars(settings.target)]).encode())
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
    prepare_process(settings, for_airflow=True, log_file=False)
    from orchestration.services import build_services
    from orchestration.warehouse.dbt import run_dbt

    services = build_services(settings, actor="airflow")
    parsed = run_dbt(["parse", "--vars", json.dumps(layer_vars(settings.target))], settings, services.vault)
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
    from orchestration.warehouse.connection import Warehouse
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
            "extra": {"masking_key": masking_key, **Warehouse(settings).tls.libpq()},
        }
    )


def store_warehouse_connection(settings: Settings) -> str:
    """Write connection `cofre_warehouse` into the vault (entry `airflow_conn_cofre_warehouse`), where
    the secrets backend serves it: never into Airflow's database. Rewritten by every `cofre airflow
    manifest`, so it follows the settings and the vault's secrets. Returns the entry's name."""
    from orchestration.services import open_audited
    from security.secret_names import AIRFLOW_CONN_PREFIX

    vault, trail = open_audited(settings, actor="airflow")
    name = AIRFLOW_CONN_PREFIX + WAREHOUSE_CONN_ID
    replaced = name in vault.names()
    vault.set(name, warehouse_connection(settings, vault))
    trail.record("secret.write", target=name, details={"replaced": replaced})
    return name


ORCHESTRATION_DIR = Path(__file__).resolve().parents[1]


def snapshot_path(settings: Settings) -> Path:
    return manifest_dir(settings) / "steps.json"


def _code_fingerprint() -> str:
    """Changes when any module that may define steps changes (the graph is built from them)."""
    digest = hashlib.sha256()
    for folder in (ORCHESTRATION_DIR, ORCHESTRATION_DIR.parent / "ingestion"):
        for path in sorted(folder.rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
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
