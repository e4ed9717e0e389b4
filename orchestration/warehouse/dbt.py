"""Run the dbt project (transform/) as a child process with credentials from the vault.

The child gets its secrets only through its environment: the masking key as DBT_ENV_SECRET_MASKING_KEY
(read by the DuckDB masking plugin through profiles.yml) and, for PostgreSQL, as the session setting
`cofre.masking_key` through libpq's PGOPTIONS, plus DBT_ENV_SECRET_PG_PASSWORD. Nothing secret goes on
the command line. dbt writes its logs and artifacts under the state directory, not into the repository,
and every line it prints passes through the redaction filter before anyone sees it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.processes import die_with_parent
from orchestration.settings import Settings
from orchestration.warehouse.connection import Warehouse
from orchestration.warehouse.dbt_project import TRANSFORM_DIR, dbt_executable
from security.child_env import child_environment
from security.credentials import dbt_env
from security.redaction import redact
from security.vault import Vault

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class DbtRun:
    """What a dbt invocation did: whether it succeeded, how long it took, and what failed."""

    success: bool
    seconds: float
    returncode: int
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    target_path: Path | None = None
    log_path: Path | None = None


def dbt_state_dirs(settings: Settings) -> tuple[Path, Path]:
    """(target path, log path) of dbt runs for these settings: inside the state directory."""
    base = settings.home / "dbt"
    return base / "target", base / "logs"


def dbt_environment(settings: Settings, vault: Vault) -> dict[str, str]:
    """The variables cofre adds to dbt's environment (profiles.yml reads them with `env_var()`).

    Non-secret: where the warehouse is, where profiles.yml is. Secret: the masking key and the
    PostgreSQL password (DBT_ENV_SECRET_*, which dbt scrubs from its logs), and for PostgreSQL the
    PGOPTIONS that set `cofre.masking_key` in every session dbt opens.
    """
    non_secret = {
        "COFRE_DUCKDB_PATH": str(settings.warehouse_path),
        "COFRE_PG_HOST": settings.pg_host,
        "COFRE_PG_PORT": str(settings.pg_port),
        "COFRE_PG_USER": settings.pg_user,
        "COFRE_PG_DATABASE": settings.pg_database,
        "DBT_PROFILES_DIR": str(TRANSFORM_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DO_NOT_TRACK": "1",
    }
    if settings.target == "postgres":  # the TLS of every PostgreSQL client (security.postgres_tls)
        non_secret.update(Warehouse(settings).dbt_tls_env())
    return dbt_env(
        vault, settings.target, settings=non_secret, inherited_pgoptions=os.environ.get("PGOPTIONS", "")
    )


def _node_label(unique_id: str) -> tuple[str, str]:
    """("test", "unique_stg_olist__orders_order_id") from "test.cofre.unique_stg_..._id.<hash>"."""
    parts = unique_id.split(".")
    kind = parts[0]
    if kind == "test" and len(parts) >= 3:
        return kind, parts[2]
    return kind, parts[-1]


def _results(run_results: Path) -> list[dict[str, Any]]:
    if not run_results.exists():
        return []
    results: list[dict[str, Any]] = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    return results


def read_warnings(run_results: Path) -> list[str]:
    """Warn-severity tests that found rows (late-arriving dimensions, conflicting duplicates): the run
    goes on, and the summary names each with its count."""
    warnings = []
    for result in _results(run_results):
        if str(result.get("status", "")).lower() == "warn":
            _, name = _node_label(str(result.get("unique_id", "")))
            warnings.append(f"{name}: {result.get('failures')} rows")
    return warnings


def read_failures(run_results: Path) -> list[str]:
    """Failed tests and models of a run, from run_results.json, one readable line each."""
    failures = []
    for result in _results(run_results):
        status = str(result.get("status", "")).lower()
        if status not in FAILED_STATUSES:
            continue
        kind, name = _node_label(str(result.get("unique_id", "")))
        count = result.get("failures")
        if kind in ("test", "unit_test") and status == "fail" and count is not None:
            rows = "row" if count == 1 else "rows"
            detail = f"{count} failing {rows}" if kind == "test" else "expected rows differ"
        else:
            message = str(result.get("message") or "").strip().splitlines()
            detail = message[0] if message else status
        failures.append(redact(f"{kind} {name} ({status}): {detail}"))
    return failures


def run_dbt(
    args: list[str],
    settings: Settings,
    vault: Vault,
    *,
    on_line: Callable[[str], None] | None = None,
) -> DbtRun:
    """Run `dbt <args> --target <settings.target>` in transform/ and report what happened.

    Every output line is redacted before `on_line` sees it; artifacts and logs go to
    `<home>/dbt/target` and `<home>/dbt/logs`. `failures` names each failed test or model.
    """
    env_vars = dbt_environment(settings, vault)
    target_path, log_path = dbt_state_dirs(settings)
    target_path.mkdir(parents=True, exist_ok=True)
    log_path.mkdir(parents=True, exist_ok=True)
    if settings.target == "duckdb":
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    run_results = target_path / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report a previous run's results

    command = [dbt_executable(), *args]
    if "--target" not in args and "-t" not in args:
        command += ["--target", settings.target]
    command += ["--target-path", str(target_path), "--log-path", str(log_path)]

    started = time.monotonic()
    tail: list[str] = []
    with subprocess.Popen(
        command,
        cwd=TRANSFORM_DIR,
        env=child_environment("dbt", secrets=env_vars),
        preexec_fn=die_with_parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = redact(raw.rstrip("\n"))
            tail = [*tail[-19:], line]
            if on_line is not None:
                on_line(line)
        returncode = process.wait()
    seconds = time.monotonic() - started

    failures = read_failures(run_results)
    warnings = read_warnings(run_results)
    if returncode != 0 and not failures:
        errors = [line for line in tail if "error" in line.lower()] or tail[-3:]
        failures = [f"dbt exited with code {returncode}: " + " | ".join(errors[-3:]).strip()]
    return DbtRun(
        success=returncode == 0,
        seconds=seconds,
        returncode=returncode,
        failures=failures,
        warnings=warnings,
        target_path=target_path,
        log_path=log_path,
    )
