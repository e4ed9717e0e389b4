"""What every cofre DAG shares: the settings edge, task defaults (retries, timeouts) and the audit
callbacks that put each failed try in the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from orchestration.environment import take_master_key
from orchestration.errors import describe_error
from orchestration.settings import Settings

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


_master_key: str | None = None


def load_settings() -> Settings:
    """The one Settings object, read from COFRE_* (the DAG file and each task are the edge). The first
    call takes COFRE_VAULT_KEY out of the process environment (kept here for later calls), so the
    children Airflow and Cosmos start never inherit the vault's master key."""
    global _master_key
    _master_key = take_master_key() or _master_key
    return Settings(vault_key=SecretStr(_master_key)) if _master_key else Settings()


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
        from orchestration.services import open_audited

        ti = context.get("ti") or context.get("task_instance")
        dag_run = context.get("dag_run")
        error = context.get("exception")
        _, trail = open_audited(load_settings(), actor="airflow")
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
