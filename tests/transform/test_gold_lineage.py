"""The dbt docs lineage does not stop at the Spark step (issue 17, item 7): in the manifest every gold table
is connected to its Spark job and, through it, to the silver it is computed from; the Spark nodes say what
the jobs' code does (their `read_silver`/`write_gold` calls); every gold column is described; the
dashboard exposure lists the gold it reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.gold.spark import GOLD_JOBS
from orchestration.lineage import spark_job_io
from orchestration.warehouse.dbt_project import TRANSFORM_DIR
from spark_jobs.contract import IPCA_TABLE

SILVER_MODEL = {IPCA_TABLE: "stg_bcb__ipca"}
"""The lake's silver/ipca is exported from staging (orchestration/gold/silver_export.py)."""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`dbt parse` of the project: no warehouse, no secret needed."""
    target = tmp_path_factory.mktemp("parse")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": os.environ["HOME"],
        "DBT_PROFILES_DIR": str(TRANSFORM_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        ["dbt", "parse", "--target-path", str(target), "--log-path", str(target)],
        cwd=TRANSFORM_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return json.loads((target / "manifest.json").read_text())


def _model(manifest: dict, name: str) -> dict:
    found = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name]
    assert len(found) == 1, name
    return found[0]


def _names(manifest: dict, ids: list[str]) -> set[str]:
    return {manifest["nodes"][i]["name"] for i in ids if i in manifest["nodes"]}


def test_gold_connects_to_its_spark_job_and_silver(manifest: dict) -> None:
    io = spark_job_io(GOLD_JOBS)
    assert set(io) == set(GOLD_JOBS)
    gold_tables = {table for job in io.values() for table in job.writes}
    assert gold_tables == {
        "sales_daily",
        "seller_scorecard",
        "customer_cohorts",
        "customer_rfm",
        "delivery_routes",
        "category_cooccurrence",
    }
    for job in io.values():
        node = _model(manifest, f"spark_{job.job}")
        assert node["config"]["materialized"] == "spark_job"
        silver = {SILVER_MODEL.get(table, table) for table in job.reads}
        assert _names(manifest, node["depends_on"]["nodes"]) == silver, job.job
        for parent in node["depends_on"]["nodes"]:  # masked silver, or the public IPCA series
            path = manifest["nodes"][parent]["original_file_path"]
            assert path.startswith("models/silver/") or path.endswith("stg_bcb__ipca.sql"), path
        assert node["config"]["meta"]["writes"] == list(job.writes)
        for table in job.writes:
            gold = _model(manifest, table)
            assert gold["schema"] == "gold"
            assert gold["config"]["materialized"] == "spark_gold"
            assert _names(manifest, gold["depends_on"]["nodes"]) == {f"spark_{job.job}"}, table


def test_nothing_reads_a_gold_source_any_more(manifest: dict) -> None:
    assert not [s for s in manifest["sources"].values() if s["source_name"] == "gold"]


def test_every_gold_column_is_described(manifest: dict) -> None:
    for job in spark_job_io(GOLD_JOBS).values():
        for table in job.writes:
            node = _model(manifest, table)
            assert node["description"], table
            assert node["columns"], table
            assert all(c["description"] for c in node["columns"].values()), table


def test_dashboard_exposure_lists_the_gold_it_reads(manifest: dict) -> None:
    exposure = next(e for e in manifest["exposures"].values() if e["name"] == "cofre_dashboard")
    queries = (Path(__file__).resolve().parents[2] / "dashboard" / "queries.py").read_text()
    read = {t for job in spark_job_io(GOLD_JOBS).values() for t in job.writes if f"gold.{t}" in queries}
    assert read and read <= _names(manifest, exposure["depends_on"]["nodes"])
