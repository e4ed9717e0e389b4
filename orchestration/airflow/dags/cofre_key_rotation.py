"""`cofre_key_rotation`: every month, `vault rotate` (re-encrypt every entry under a new key version and
retire the old key), then `audit verify` (the trail, chained and MACed, is intact)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from orchestration.airflow.defaults import MAINTENANCE_TIMEOUT, TAGS, task_defaults
from orchestration.airflow.maintenance import rotate_vault_key, verify_audit_trail
from orchestration.airflow.tasks import cofre_run_id

with DAG(
    dag_id="cofre_key_rotation",
    description="vault rotate, then audit verify",
    schedule="@monthly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(execution_timeout=MAINTENANCE_TIMEOUT),
    tags=[*TAGS, "security"],
    doc_md=__doc__,
) as dag:

    @task
    def vault_rotate() -> dict[str, Any]:
        return rotate_vault_key(run_id=cofre_run_id(get_current_context()["dag_run"].run_id))

    @task
    def audit_verify() -> dict[str, Any]:
        return verify_audit_trail()

    vault_rotate() >> audit_verify()
