"""`cofre_elt`: THE step graph (orchestration/steps/) as an Airflow DAG.

One task per step, each calling the same step function as `cofre run`; the two dbt steps
(`transform_silver` before Spark, `transform_marts` after gold is loaded) are Cosmos task groups with one
task per dbt model, seed and test, rendered from the dbt manifest. Dependencies come from the graph (a
step runs after the producers of its inputs) and every step output is an asset.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from orchestration.airflow.defaults import DBT_MODE_VARIABLE, TAGS, load_settings, task_defaults
from orchestration.airflow.tasks import build_elt_tasks

settings = load_settings()
dbt_mode = os.environ.get(DBT_MODE_VARIABLE, "local")

with DAG(
    dag_id="cofre_elt",
    description="sources -> bronze/raw -> dbt silver -> Spark gold -> dbt marts -> publish",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1 if settings.target == "duckdb" else 8,  # DuckDB: one writer per file
    default_args=task_defaults(),
    tags=[*TAGS, "elt"],
    doc_md=__doc__,
) as dag:
    build_elt_tasks(settings, dbt_mode=dbt_mode)
