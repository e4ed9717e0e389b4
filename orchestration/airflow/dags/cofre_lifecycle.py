"""`cofre_lifecycle`: every day, move bronze loads older than the retention to the cold layer
(ingestion.lifecycle: copy, verify, record, delete; an interrupted move is finished by the next run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from orchestration.airflow.defaults import MAINTENANCE_TIMEOUT, TAGS, task_defaults
from orchestration.airflow.maintenance import run_lifecycle
from orchestration.airflow.tasks import asset_of, cofre_run_id

with DAG(
    dag_id="cofre_lifecycle",
    description="bronze older than the retention -> cold storage (verified move)",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(execution_timeout=MAINTENANCE_TIMEOUT),
    tags=[*TAGS, "lifecycle"],
    doc_md=__doc__,
) as dag:

    @task(outlets=[asset_of("cofre://cold/bronze")])
    def move_to_cold() -> dict[str, Any]:
        return run_lifecycle(run_id=cofre_run_id(get_current_context()["dag_run"].run_id))

    move_to_cold()
