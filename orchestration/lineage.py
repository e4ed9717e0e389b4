"""OpenLineage run events for every step of a run: where each dataset came from, across dlt, dbt and Spark.

`observe(steps, settings)` wraps the steps a runner is about to run; each step then emits a START event
before it runs and a COMPLETE (or FAIL) event after, with the datasets it read and wrote, named as
OpenLineage names them, so Marquez or any OpenLineage consumer draws one graph:

    Olist files ──ingest_olist.bronze──> bronze (lake) ──ingest_olist.raw──> raw_olist.* (warehouse)
    raw ──dbt (one job per model)──> staging ──> silver ──export_silver──> silver (lake)
    silver (lake) ──spark.<job> (one per Spark job)──> gold (lake) ──load_gold──> gold (warehouse)
    silver + gold ──dbt──> marts ──publish_marts──> published marts and gold

Jobs live in the namespace `cofre`: the run (`cofre.run`) is the parent of each step (`cofre.<step>`), a
step the parent of its parts (`cofre.dbt.<model>`, `cofre.spark.<job>`, `cofre.<ingest step>.bronze|raw`).
Datasets: files `file` + path; the lake `file` + path, or `s3://bucket` + key; DuckDB
`duckdb://<file>` + `<database>.<schema>.<table>`; PostgreSQL `postgres://host:port` +
`<database>.<schema>.<table>` (the names OpenLineage's dbt integration gives, so consumers merge them).
The dbt parts are read from dbt's own artifacts (manifest.json and run_results.json of the step's run); the
Spark parts from the jobs' code (`spark_job_io`: their `read_silver` and `write_gold` calls), the same
declaration the dbt docs lineage is checked against.

Events go to `<home>/lineage/openlineage.jsonl` (one JSON event per line) and, when `Settings.lineage_url`
is set, to that HTTP endpoint (`/api/v1/lineage`). Lineage never fails a run: an event that cannot be
sent is logged, and a transport that failed is not tried again in that run. Events hold names, paths,
row counts and error messages, never a secret (no URL with credentials is ever a dataset name: the lake and
warehouse are named by host, path and table).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from orchestration.graph import Step, StepContext, StepResult
from orchestration.settings import Settings

log = logging.getLogger(__name__)

JOB_NAMESPACE = "cofre"
PRODUCER = "https://github.com/cofre/cofre/tree/main/orchestration/lineage.py"
SPARK_JOBS_DIR = Path(__file__).resolve().parents[1] / "spark_jobs"
LAKE_IPCA_SOURCE = ("staging", "stg_bcb__ipca")
"""The warehouse relation exported to the lake as silver/ipca (orchestration/gold/silver_export.py)."""

HTTP_RETRY = {
    "total": 2,
    "backoff_factor": 0.3,
    "status_forcelist": [500, 502, 503, 504],
    "allowed_methods": ["HEAD", "POST"],
}
"""Retries of the HTTP transport; an endpoint that still fails is dropped for the rest of the run."""

Dataset = tuple[str, str]
"""(namespace, name) of an OpenLineage dataset."""


# ---------------------------------------------------------------- what the Spark jobs read and write


@dataclasses.dataclass(frozen=True)
class SparkJobIO:
    job: str
    reads: tuple[str, ...]
    """Lake silver tables (`read_silver(spark, silver_uri, "<table>")`), directly or through helpers."""
    writes: tuple[str, ...]
    """Gold tables (`write_gold(df, gold_uri, <TABLE>)`)."""


def _constants(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                found[target.id] = str(node.value.value)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for name, value in zip(target.elts, node.value.elts, strict=False):
                    if isinstance(name, ast.Name) and isinstance(value, ast.Constant):
                        found[name.id] = str(value.value)
    return found


def spark_job_io(jobs: Iterable[str], jobs_dir: Path = SPARK_JOBS_DIR) -> dict[str, SparkJobIO]:
    """Each job's silver inputs and gold outputs, read from its code: the `read_silver` calls of `run` and
    of every function it calls (in its module or imported from another job module), and the tables it
    passes to `write_gold`."""
    modules: dict[str, ast.Module] = {}

    def module(name: str) -> ast.Module:
        if name not in modules:
            modules[name] = ast.parse((jobs_dir / f"{name}.py").read_text(encoding="utf-8"))
        return modules[name]

    def functions(name: str) -> dict[str, ast.FunctionDef]:
        return {n.name: n for n in module(name).body if isinstance(n, ast.FunctionDef)}

    def imported(name: str) -> dict[str, str]:
        found = {}
        for node in module(name).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spark_jobs."):
                for alias in node.names:
                    found[alias.asname or alias.name] = node.module.split(".", 1)[1]  # type: ignore[union-attr]
        return found

    def calls(name: str, function: str, seen: set[tuple[str, str]]) -> tuple[set[str], set[str]]:
        if (name, function) in seen or function not in functions(name):
            return set(), set()
        seen.add((name, function))
        constants, reads, writes = _constants(module(name)), set(), set()
        for node in ast.walk(functions(name)[function]):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            callee, args = node.func.id, node.args
            if callee == "read_silver" and len(args) >= 3 and isinstance(args[2], ast.Constant):
                reads.add(str(args[2].value))
            elif callee == "write_gold" and len(args) >= 3:
                arg = args[2]
                if isinstance(arg, ast.Constant):
                    writes.add(str(arg.value))
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    writes.add(constants[arg.id])
            elif callee in functions(name):
                more = calls(name, callee, seen)
                reads |= more[0]
                writes |= more[1]
            elif callee in imported(name) and imported(name)[callee] != "_common":
                more = calls(imported(name)[callee], callee, seen)
                reads |= more[0]
                writes |= more[1]
        return reads, writes

    result = {}
    for job in jobs:
        reads, writes = calls(job, "run", set())
        result[job] = SparkJobIO(job, tuple(sorted(reads)), tuple(sorted(writes)))
    return result


# ---------------------------------------------------------------- dataset names


def _path_dataset(url_or_path: str, *parts: str) -> Dataset:
    """A file or lake location: (`file`, absolute path) or (`s3://bucket`, key)."""
    if url_or_path.startswith("s3://"):
        split = urlsplit(url_or_path)
        key = "/".join(p for p in (split.path.strip("/"), *parts) if p)
        return f"s3://{split.netloc}", key
    path = urlsplit(url_or_path).path if url_or_path.startswith("file://") else url_or_path
    return "file", "/".join([path.rstrip("/"), *parts])


def lake_dataset(settings: Settings, layer: str, *parts: str) -> Dataset:
    return _path_dataset(settings.lake_location, layer, *parts)


def warehouse_namespace(settings: Settings) -> str:
    if settings.target == "postgres":
        return f"postgres://{settings.pg_host}:{settings.pg_port}"
    return f"duckdb://{settings.warehouse_path}"


def warehouse_database(settings: Settings) -> str:
    return settings.pg_database if settings.target == "postgres" else settings.warehouse_path.stem


def table_dataset(settings: Settings, schema: str, table: str) -> Dataset:
    return warehouse_namespace(settings), f"{warehouse_database(settings)}.{schema}.{table}".lower()


def published_dataset(settings: Settings, qualified: str) -> Dataset:
    """A published table (`marts.fct_orders`, `gold.sales_daily`): the published DuckDB file, or the
    PostgreSQL schemas the readers see."""
    if settings.target == "postgres":
        return table_dataset(settings, *qualified.split(".", 1))
    path = settings.published_path
    return f"duckdb://{path}", f"{path.stem}.{qualified}".lower()


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

        inputs = [_path_dataset(str(settings.input_dir), t.file_name) for t in OLIST_TABLES]
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
        files = {t.table: _path_dataset(str(settings.input_dir), t.file_name) for t in OLIST_TABLES}
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


# ---------------------------------------------------------------- events and transports


def lineage_file(settings: Settings) -> Path:
    return settings.home / "lineage" / "openlineage.jsonl"


def run_uuid(*parts: str) -> str:
    """A stable OpenLineage run id (a UUID) for a cofre run, step or part."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cofre:" + "/".join(parts)))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Emitter:
    """Sends OpenLineage events to the file transport and, when configured, the HTTP endpoint."""

    def __init__(self, settings: Settings) -> None:
        from openlineage.client.transport.file import FileConfig, FileTransport
        from openlineage.client.transport.http import HttpConfig, HttpTransport
        from openlineage.client.transport.transport import Transport

        path = lineage_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.transports: list[Transport] = [FileTransport(FileConfig(log_file_path=str(path), append=True))]
        if settings.lineage_url:
            config = HttpConfig(url=settings.lineage_url, timeout=5.0, retry=HTTP_RETRY)
            self.transports.append(HttpTransport(config))

    def emit(self, event: Any) -> None:
        for transport in list(self.transports):
            try:
                transport.emit(event)
            except Exception as error:  # lineage must never fail (or stall) a run
                log.warning("OpenLineage events no longer sent to %s in this run: %s", transport.kind, error)
                self.transports.remove(transport)


def _event(
    state: str,
    job: str,
    run_id: str,
    *,
    parent: tuple[str, str] | None = None,
    part: Part | None = None,
    error: str | None = None,
    job_type: str = "JOB",
    integration: str = "COFRE",
    when: str | None = None,
) -> Any:
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.generated import (
        error_message_run,
        job_type_job,
        output_statistics_output_dataset,
        parent_run,
    )

    run_facets: dict[str, Any] = {}
    if parent is not None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent[1]), job=parent_run.Job(namespace=JOB_NAMESPACE, name=parent[0])
        )
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error[:2000], programmingLanguage="python"
        )
    inputs = [InputDataset(namespace=ns, name=name) for ns, name in (part.inputs if part else [])]
    outputs = []
    for ns, name in part.outputs if part else []:
        facets: dict[str, Any] = {}
        if part is not None and (ns, name) in part.rows:
            facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=part.rows[(ns, name)]
            )
        outputs.append(OutputDataset(namespace=ns, name=name, outputFacets=facets))
    return RunEvent(
        eventType=getattr(RunState, state),
        eventTime=when or _now(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(
            namespace=JOB_NAMESPACE,
            name=job,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration=integration, jobType=job_type
                )
            },
        ),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


_INTEGRATION = {"dbt": "DBT", "spark": "SPARK", "ingest": "DLT"}


def emit_step(
    emitter: Emitter,
    state: str,
    step: str,
    cofre_run: str,
    parts: list[Part] | None = None,
    error: str | None = None,
) -> None:
    """The events of one step: on START the step alone; at the end each part (START and its outcome),
    then the step with every dataset its parts read from outside the step and every dataset they wrote."""
    run_id = run_uuid(cofre_run, step)
    parent = ("run", run_uuid(cofre_run))
    if parts is None:
        emitter.emit(_event("START", step, run_id, parent=parent, job_type="TASK"))
        return
    produced = {d for p in parts for d in p.outputs}
    whole = Part(step)
    for part in parts:
        whole.inputs += [d for d in part.inputs if d not in produced and d not in whole.inputs]
        whole.outputs += [d for d in part.outputs if d not in whole.outputs]
        whole.rows.update(part.rows)
        if len(parts) == 1 and part.name == step:
            continue
        kind = part.name.split(".", 1)[0]
        integration = _INTEGRATION.get(kind, "DLT" if kind.startswith("ingest_") else "COFRE")
        part_id = run_uuid(cofre_run, step, part.name)
        emitter.emit(
            _event(
                "START",
                part.name,
                part_id,
                parent=(step, run_id),
                part=part,
                integration=integration,
                job_type="MODEL" if kind == "dbt" else "JOB",
                when=part.started,
            )
        )
        emitter.emit(
            _event(
                "FAIL" if part.failed else "COMPLETE",
                part.name,
                part_id,
                parent=(step, run_id),
                part=part,
                error=part.failed,
                integration=integration,
                job_type="MODEL" if kind == "dbt" else "JOB",
                when=part.ended,
            )
        )
    emitter.emit(_event(state, step, run_id, parent=parent, part=whole, error=error, job_type="TASK"))


def observe(steps: list[Step], settings: Settings, *, run_events: bool = True) -> list[Step]:
    """`steps` with each step's run wrapped to emit its OpenLineage events (and, with `run_events`, the
    run's: START before the first step, COMPLETE after the last, FAIL with the failing step). The runner's
    one hook: `steps = observe(steps, settings)` before it runs them. An orchestrator that runs one step per
    task (Airflow) wraps that step with `run_events=False`: its steps still name the run as their parent."""
    if not steps:
        return steps
    emitter = Emitter(settings)
    first, last = (steps[0].name, steps[-1].name) if run_events else ("", "")

    def wrap(step: Step) -> Step:
        def run(ctx: StepContext) -> StepResult:
            if step.name == first:
                emitter.emit(_event("START", "run", run_uuid(ctx.run_id), job_type="DAG"))
            emit_step(emitter, "START", step.name, ctx.run_id)
            try:
                result = step.run(ctx)
            except Exception as error:
                message = str(error)
                _safely(
                    lambda: emit_step(
                        emitter,
                        "FAIL",
                        step.name,
                        ctx.run_id,
                        step_parts(step.name, settings, None),
                        message,
                    )
                )
                if run_events:
                    emitter.emit(
                        _event(
                            "FAIL", "run", run_uuid(ctx.run_id), error=f"{step.name}: {error}", job_type="DAG"
                        )
                    )
                raise
            _safely(
                lambda: emit_step(
                    emitter, "COMPLETE", step.name, ctx.run_id, step_parts(step.name, settings, result)
                )
            )
            if step.name == last:
                emitter.emit(_event("COMPLETE", "run", run_uuid(ctx.run_id), job_type="DAG"))
            return result

        return dataclasses.replace(step, run=run)

    return [wrap(step) for step in steps]


def _safely(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as error:  # lineage must never fail a run
        log.warning("OpenLineage events not emitted: %s", error)
