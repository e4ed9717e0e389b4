"""OpenLineage end to end (issue 17, item 7): the events one `cofre run` emits form one connected graph from
the Olist files to the published marts, through bronze, raw, staging, silver, the Spark jobs and gold; every
step has a START and a COMPLETE; the events carry no secret. Read from the file transport, as Marquez or
any consumer would read them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from orchestration.gold.spark import GOLD_JOBS
from orchestration.lineage import lineage_file, spark_job_io
from orchestration.services import open_vault
from orchestration.settings import Settings
from orchestration.steps import PIPELINE

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("lineage") / "home"
    env = {**os.environ, "COFRE_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "orchestration", "run", "--scale", "0.01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Settings(home=home)


@pytest.fixture(scope="module")
def events(run_home: Settings) -> list[dict]:
    lines = lineage_file(run_home).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _dataset(d: dict) -> str:
    return f"{d['namespace']}|{d['name']}"


def _graph(events: list[dict]) -> dict[str, set[str]]:
    """Directed edges input dataset -> job -> output dataset, from the completed runs of every job."""
    edges: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event["eventType"] != "COMPLETE":
            continue
        job = f"job|{event['job']['namespace']}.{event['job']['name']}"
        for dataset in event.get("inputs", []):
            edges[_dataset(dataset)].add(job)
        for dataset in event.get("outputs", []):
            edges[job].add(_dataset(dataset))
    return edges


def _reachable(edges: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, frontier = set(start), list(start)
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def test_every_step_starts_and_completes_in_one_run(events: list[dict]) -> None:
    states = defaultdict(list)
    for event in events:
        states[event["job"]["name"]].append(event["eventType"])
    assert states["run"] == ["START", "COMPLETE"]
    for step in PIPELINE.order():
        assert states[step.name] == ["START", "COMPLETE"], step.name
    run_ids = {
        e["run"]["facets"]["parent"]["run"]["runId"] for e in events if e["job"]["name"] in PIPELINE.steps
    }
    assert len(run_ids) == 1  # every step is a child of the one run
    for job in GOLD_JOBS:
        assert states[f"spark.{job}"] == ["START", "COMPLETE"], job
    assert states["dbt.stg_olist__orders"] == ["START", "COMPLETE"]
    assert states["dbt.fct_orders"] == ["START", "COMPLETE"]


def test_olist_files_reach_every_published_mart_through_spark_and_gold(
    events: list[dict], run_home: Settings
) -> None:
    edges = _graph(events)
    files = {n for n in edges if n.startswith("file|") and n.endswith(".csv")}
    assert len(files) == 9  # the nine Olist files
    reached = _reachable(edges, files)
    published = run_home.published_path
    marts = {n for n in reached if n.startswith(f"duckdb://{published}|cofre_marts.marts.")}
    assert {n.rsplit(".", 1)[1] for n in marts} >= {
        "fct_orders",
        "fct_order_items",
        "fct_payments",
        "fct_reviews",
        "dim_customer",
        "dim_product",
        "dim_seller",
    }
    published_gold = {n.rsplit(".", 1)[1] for n in reached if "|cofre_marts.gold." in n}
    expected_gold = {t for io in spark_job_io(GOLD_JOBS).values() for t in io.writes}
    assert published_gold == expected_gold
    # The gold path goes through the Spark jobs, from the lake copy of silver.
    for job in GOLD_JOBS:
        assert f"job|cofre.spark.{job}" in reached, job
    lake = f"file|{run_home.lake_dir}"
    assert f"{lake}/silver/orders" in reached and f"{lake}/gold/sales_daily" in reached
    assert f"{lake}/bronze/olist/orders" in reached
    # And the layers in between: raw, staging, silver in the warehouse.
    warehouse = f"duckdb://{run_home.warehouse_path}|cofre."
    for name in ("raw_olist.orders", "staging.stg_olist__orders", "silver.orders", "gold.sales_daily"):
        assert warehouse + name in reached, name


def test_events_are_openlineage_and_hold_no_secret(events: list[dict], run_home: Settings) -> None:
    vault = open_vault(run_home)
    values = [vault.get(name) for name in vault.names()]
    text = lineage_file(run_home).read_text(encoding="utf-8")
    assert not [v for v in values if len(v) >= 8 and v in text]
    for event in events:
        assert event["schemaURL"].startswith("https://openlineage.io/spec/")
        assert event["producer"] and event["eventTime"] and event["run"]["runId"]
        assert event["job"]["namespace"] == "cofre"
