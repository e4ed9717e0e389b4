"""What each step read and wrote, as OpenLineage parts (sub-jobs with their input and output datasets):
from the step's result, dbt's artifacts and the Spark jobs' declared inputs and outputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from orchestration.graph import StepResult
from orchestration.lineage.datasets import (
    LAKE_IPCA_SOURCE,
    Dataset,
    lake_dataset,
    path_dataset,
    published_dataset,
    spark_job_io,
    table_dataset,
)
from orchestration.settings import Settings

# ---------------------------------------------------------------- what each step read and wrote


@dataclasses.dataclass
class Part:
    """One job of a step's lineage: its name, inputs and outputs, and its own outcome."""

    name: str
    inputs: list[Dataset] = dataclasses.field(default_factory=list)
    outputs: list[Dataset] = dataclasses.field(default_factory=list)
    rows: dict[Dataset, int] = dataclasses.field(default_factory=dict)
    failed: str | None = None
    started: str | None = None
    ended: str | None = None


def _counts(result: StepResult | None, stage: str) -> dict[str, int]:
    return {c.table: c.rows for c in (result.counts if result else []) if c.stage == stage}


def _ingest_parts(step: str, settings: Settings, result: StepResult | None) -> list[Part]:
    source = step.removeprefix("ingest_")
    source_name = {"ipca": "bcb", "weather": "openweather"}.get(source, source)
    bronze, raw = _counts(result, "bronze"), _counts(result, "raw")
    if step == "ingest_olist":
        from ingestion.olist_schema import OLIST_TABLES

        inputs = [path_dataset(str(settings.input_dir), t.file_name) for t in OLIST_TABLES]
    elif step == "ingest_ipca":
        inputs = [(settings.bcb_base_url.rstrip("/"), "/dados/serie/bcdata.sgs.433/dados")]
    else:
        inputs = [(settings.openweather_base_url.rstrip("/"), "/data/2.5/weather")]
    tables = sorted(set(bronze) | set(raw))
    bronze_sets = {t: lake_dataset(settings, "bronze", source_name, t) for t in tables}
    raw_sets = {t: table_dataset(settings, f"raw_{source_name}", t) for t in tables}
    return [
        Part(
            f"{step}.bronze",
            inputs,
            list(bronze_sets.values()),
            {bronze_sets[t]: n for t, n in bronze.items() if t in bronze_sets},
        ),
        Part(
            f"{step}.raw",
            list(bronze_sets.values()),
            list(raw_sets.values()),
            {raw_sets[t]: n for t, n in raw.items() if t in raw_sets},
        ),
    ]


def _node_dataset(settings: Settings, node: dict[str, Any]) -> Dataset | None:
    if node.get("resource_type") == "source":
        table = node.get("identifier") or node["name"]
    elif node.get("resource_type") in ("model", "seed", "snapshot"):
        if node.get("config", {}).get("materialized") in ("ephemeral", "spark_job"):
            return None
        table = node.get("alias") or node["name"]
    else:
        return None
    return table_dataset(settings, node["schema"], table)


def dbt_parts(settings: Settings, target_path: Path) -> list[Part]:
    """One part per model and seed of the last dbt run (run_results.json), with its parents from the
    manifest as inputs. The Spark nodes (materialized `spark_job`, `spark_gold`) are drawn by the gold
    steps, not here: dbt only checks them."""
    try:
        manifest = json.loads((target_path / "manifest.json").read_text(encoding="utf-8"))
        results = json.loads((target_path / "run_results.json").read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    parts = []
    for result in results:
        node = nodes.get(result.get("unique_id", ""))
        if node is None or node.get("resource_type") not in ("model", "seed"):
            continue
        if node.get("config", {}).get("materialized") in ("spark_job", "spark_gold"):
            continue
        output = _node_dataset(settings, node)
        if output is None or result.get("status") in ("skipped",):
            continue
        inputs = []
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent = nodes.get(parent_id)
            dataset = _node_dataset(settings, parent) if parent else None
            if dataset is not None:
                inputs.append(dataset)
        timing = {t.get("name"): t for t in result.get("timing", [])}.get("execute", {})
        failed = (
            None if result.get("status") in ("success", "pass") else str(result.get("message") or "failed")
        )
        parts.append(
            Part(
                f"dbt.{node['name']}",
                inputs,
                [output],
                failed=failed,
                started=timing.get("started_at"),
                ended=timing.get("completed_at"),
            )
        )
    return parts


def _lake_silver_source(settings: Settings, table: str) -> Dataset:
    from spark_jobs.contract import IPCA_TABLE

    return (
        table_dataset(settings, *LAKE_IPCA_SOURCE)
        if table == IPCA_TABLE
        else table_dataset(settings, "silver", table)
    )


def step_parts(step: str, settings: Settings, result: StepResult | None) -> list[Part]:
    """The lineage of one step from its result (and, for dbt, its artifacts)."""
    if step == "prepare_olist":
        from ingestion.olist_schema import OLIST_TABLES

        generated = _counts(result, "generated")
        files = {t.table: path_dataset(str(settings.input_dir), t.file_name) for t in OLIST_TABLES}
        return [
            Part(step, [], list(files.values()), {files[t]: n for t, n in generated.items() if t in files})
        ]
    if step.startswith("ingest_"):
        return _ingest_parts(step, settings, result)
    if step in ("transform_silver", "transform_marts"):
        from orchestration.warehouse.dbt import dbt_state_dirs

        return dbt_parts(settings, dbt_state_dirs(settings)[0])
    if step == "export_silver":
        from spark_jobs.contract import LAKE_TABLES

        rows = _counts(result, "silver_lake")
        tables = sorted(rows) or list(LAKE_TABLES)
        outputs = {t: lake_dataset(settings, "silver", t) for t in tables}
        return [
            Part(
                step,
                [_lake_silver_source(settings, t) for t in tables],
                list(outputs.values()),
                {outputs[t]: rows[t] for t in rows},
            )
        ]
    if step == "gold":
        from spark_jobs.contract import GOLD_JOBS

        rows = _counts(result, "gold_lake")
        parts = []
        for io in spark_job_io(GOLD_JOBS).values():
            outputs = {t: lake_dataset(settings, "gold", t) for t in io.writes}
            parts.append(
                Part(
                    f"spark.{io.job}",
                    [lake_dataset(settings, "silver", t) for t in io.reads],
                    list(outputs.values()),
                    {outputs[t]: rows[t] for t in io.writes if t in rows},
                )
            )
        return parts
    if step == "load_gold":
        rows = _counts(result, "gold") or dict.fromkeys(_counts(result, "gold_lake"), 0)
        tables = sorted(rows) or sorted({t for io in spark_job_io(_gold_jobs()).values() for t in io.writes})
        outputs = {t: table_dataset(settings, "gold", t) for t in tables}
        return [
            Part(
                step,
                [lake_dataset(settings, "gold", t) for t in tables],
                list(outputs.values()),
                {outputs[t]: rows[t] for t in rows if t in outputs},
            )
        ]
    if step == "publish_marts":
        from orchestration.warehouse.schemas import marts_build_schema

        published = _counts(result, "published")
        build = marts_build_schema(settings.target)
        read: list[Dataset] = []
        written: list[Dataset] = []
        counted: dict[Dataset, int] = {}
        for qualified, n in published.items():
            schema, table = qualified.split(".", 1)
            source = table_dataset(settings, build if schema == "marts" else schema, table)
            target = published_dataset(settings, qualified)
            read.append(source)
            if target != source:
                written.append(target)
                counted[target] = n
        return [Part(step, read, written, counted)]
    return [Part(step)]


def _gold_jobs() -> tuple[str, ...]:
    from spark_jobs.contract import GOLD_JOBS

    return GOLD_JOBS
