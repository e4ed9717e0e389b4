"""The steps of cofre and THE step graph. Each step is a thin call into a library with explicit inputs.

Outputs are named like assets (`cofre://<layer>/<name>`): the embedded runner orders steps by them and the
Airflow DAGs publish them as assets, so a consumer can be scheduled on what a producer updates.
"""

from __future__ import annotations

import logging
import re
from contextlib import closing
from dataclasses import asdict
from functools import partial
from typing import Any

import requests
from dlt.extract.source import DltSource

from ingestion.bcb_ipca import bcb_source
from ingestion.olist_generator import generate_olist
from ingestion.olist_reader import check_folder
from ingestion.olist_schema import OLIST_TABLES
from ingestion.olist_source import ReadStats, olist_source
from ingestion.openweather import openweather_source
from ingestion.pipeline import LoadReport, ingest
from ingestion.replay import replay_session
from orchestration.dbt import MARTS_SELECT, SILVER_SELECT, DbtRun, build_args, run_dbt
from orchestration.gold_load import GOLD_SCHEMA
from orchestration.gold_steps import GOLD_STEPS, GOLD_WAREHOUSE, SILVER_BUILT
from orchestration.graph import ProgressTask, Step, StepContext, StepGraph, StepResult, TableCount
from orchestration.publish import (
    BUILD_SCHEMA,
    PUBLISHED_SCHEMA,
    duckdb_row_counts,
    postgres_row_counts,
    publish_duckdb,
    publish_postgres,
)

OLIST_FILES = "cofre://files/olist"
RAW = ("cofre://raw/olist", "cofre://raw/bcb", "cofre://raw/openweather")
MARTS_BUILT = "cofre://warehouse/marts_build"
MARTS_PUBLISHED = "cofre://published/marts"
_DBT_PROGRESS = re.compile(r"\b(\d+) of (\d+) ")
log = logging.getLogger(__name__)


class QualityGateFailed(RuntimeError):
    """An error-severity dbt test (or a model) failed: nothing is published."""


REPLAY_API_KEY = "replay-snapshot"  # not a credential: the replay adapter only checks that a key is sent


def prepare_olist(ctx: StepContext) -> StepResult:
    """Use the user's Olist folder, or generate Olist-shaped files once per (scale, seed)."""
    s = ctx.settings
    if s.olist_dir is not None:
        check_folder(s.olist_dir)
        return StepResult(
            outputs={OLIST_FILES: str(s.olist_dir)}, notes=[f"using Olist files in {s.olist_dir}"]
        )
    if s.generated_dir.is_dir():  # written atomically, so an existing folder is complete
        return StepResult(
            outputs={OLIST_FILES: str(s.generated_dir)},
            notes=[f"reusing generated files in {s.generated_dir}"],
        )
    total = round(
        sum(t.real_rows for t in OLIST_TABLES if t.table != "product_category_name_translation") * s.scale
    )
    task = ctx.reporter.task(f"generate Olist-shaped data (scale {s.scale:g})", total=total)
    done: dict[str, int] = {}

    def progress(table: str, rows: int) -> None:
        done[table] = rows
        task.update(sum(done.values()))

    rows = generate_olist(s.generated_dir, scale=s.scale, seed=s.seed, progress=progress)
    return StepResult(
        counts=[TableCount("generated", t, n) for t, n in rows.items()],
        outputs={OLIST_FILES: str(s.generated_dir)},
    )


def ingest_olist(ctx: StepContext) -> StepResult:
    s = ctx.settings
    stats = ReadStats()
    task = ctx.reporter.task("ingest Olist files", total=None)
    done: dict[str, int] = {}

    def progress(table: str, rows: int) -> None:
        done[table] = rows
        task.update(sum(done.values()))

    source = olist_source(s.input_dir, stats, progress)
    report = _ingest(ctx, source, inputs=lambda: [asdict(f) for f in stats.files.values()])
    counts = [TableCount("input", t, f.rows_loaded + f.rows_quarantined) for t, f in stats.files.items()]
    counts += [
        TableCount("quarantine", t, f.rows_quarantined) for t, f in stats.files.items() if f.rows_quarantined
    ]
    return _result(report, counts)


def ingest_ipca(ctx: StepContext) -> StepResult:
    s = ctx.settings
    source = bcb_source(
        base_url=s.bcb_base_url,
        start=s.ipca_start,
        end=s.ipca_end,
        session=_session(ctx),
        timeout=s.http_timeout_s,
        retries=s.http_retries,
    )
    return _result(_ingest(ctx, source))


def ingest_weather(ctx: StepContext) -> StepResult:
    s = ctx.settings
    source = openweather_source(
        api_key=_openweather_key(ctx),
        base_url=s.openweather_base_url,
        session=_session(ctx),
        timeout=s.http_timeout_s,
        retries=s.http_retries,
    )
    return _result(_ingest(ctx, source))


def _openweather_key(ctx: StepContext) -> str:
    vault = ctx.services.vault
    if vault is not None and "openweather_api_key" in vault.names():
        return str(vault.get("openweather_api_key"))
    if ctx.settings.api_mode == "replay":
        return REPLAY_API_KEY
    raise RuntimeError(
        "live weather needs an OpenWeather API key: run `cofre vault set openweather_api_key` "
        "and paste the key on stdin, or use --api-mode replay"
    )


def _session(ctx: StepContext) -> requests.Session:
    return replay_session() if ctx.settings.api_mode == "replay" else requests.Session()


def _ingest(ctx: StepContext, source: DltSource, **kwargs: Any) -> LoadReport:
    """Load a source into bronze and raw, and record both writes in the audit trail."""
    services = ctx.services
    report = ingest(
        source,
        lake=services.lake,
        raw_destination=services.warehouse.dlt_destination(),
        raw_dataset=f"raw_{source.name}",
        pipelines_dir=ctx.settings.dlt_dir,
        **kwargs,
    )
    if report.manifest is not None:
        services.audit.record(
            "lake.write",
            target=f"bronze/{report.source}/{report.load_id}",
            details={"run_id": ctx.run_id, "manifest": str(report.manifest), "rows": report.bronze_rows},
        )
    if report.raw_loads:
        services.audit.record(
            "warehouse.write",
            target=f"{services.warehouse.describe()}#raw_{report.source}",
            details={"run_id": ctx.run_id, "bronze_loads": report.raw_loads, "rows": report.raw_rows},
        )
    return report


def transform_silver(ctx: StepContext) -> StepResult:
    """`dbt build` of seeds, staging and masked silver, each followed by its tests (the first quality
    gates): what Spark reads is tested before it is exported to the lake."""
    run = _dbt_build(ctx, "silver", SILVER_SELECT)
    return StepResult(
        outputs={SILVER_BUILT: f"{ctx.services.warehouse.describe()}#silver"},
        notes=[f"dbt build silver {run.seconds:.0f} s"],
    )


def transform_marts(ctx: StepContext) -> StepResult:
    """`dbt build` of the star-schema marts and their tests (and the tests of Spark's gold sources).

    On PostgreSQL the marts are built into a separate schema and published by the next step; on DuckDB
    they are built in the pipeline's own file, which no reader opens.
    """
    run = _dbt_build(ctx, "marts", MARTS_SELECT)
    return StepResult(
        outputs={MARTS_BUILT: f"{ctx.services.warehouse.describe()}#{_marts_schema(ctx)}"},
        notes=[f"dbt build marts {run.seconds:.0f} s"],
    )


def _marts_schema(ctx: StepContext) -> str:
    return BUILD_SCHEMA if ctx.settings.target == "postgres" else PUBLISHED_SCHEMA


def _dbt_build(ctx: StepContext, layer: str, select: tuple[str, ...]) -> DbtRun:
    """One `dbt build` of a layer; its test results are a `gate.result` audit event, and a failed
    error-severity test (or model) raises QualityGateFailed, so nothing downstream runs."""
    s = ctx.settings
    task = ctx.reporter.task(f"dbt build {layer}: models and tests", total=None)
    run = run_dbt(
        build_args(select, {"marts_schema": _marts_schema(ctx)}),
        s,
        ctx.services.vault,
        on_line=lambda line: _dbt_progress(line, task),
    )
    ctx.services.audit.record(
        "gate.result",
        target=f"dbt build {layer} {s.target}",
        outcome="success" if run.success else "failure",
        details={"run_id": ctx.run_id, "seconds": round(run.seconds, 1), "failures": run.failures},
    )
    if not run.success:
        raise QualityGateFailed("quality gates failed, nothing published: " + "; ".join(run.failures))
    return run


def _dbt_progress(line: str, task: ProgressTask) -> None:
    log.info("dbt: %s", line)
    match = _DBT_PROGRESS.search(line)
    if match:
        task.update(int(match.group(1)), total=int(match.group(2)))


def publish_marts(ctx: StepContext) -> StepResult:
    """Make the tested marts visible to readers in one atomic step (write, audit, publish)."""
    s = ctx.settings
    if s.target == "duckdb":
        # The published file carries the gold aggregates too, so readers open one file.
        schemas = (PUBLISHED_SCHEMA, GOLD_SCHEMA)
        publish_duckdb(s.warehouse_path, s.published_path, schemas)
        counts, where = duckdb_row_counts(s.published_path, schemas), str(s.published_path)
    else:
        services = ctx.services
        readers = partial(services.grant_reader, grants={PUBLISHED_SCHEMA: None, GOLD_SCHEMA: None})
        with closing(services.warehouse.connect_postgres()) as con:
            publish_postgres(con, readers=readers)
            counts = {f"{PUBLISHED_SCHEMA}.{t}": n for t, n in postgres_row_counts(con).items()}
        where = f"{ctx.services.warehouse.describe()}#{PUBLISHED_SCHEMA}"
    ctx.services.audit.record("marts.publish", target=where, details={"run_id": ctx.run_id, "rows": counts})
    return StepResult(
        counts=[TableCount("published", t, n) for t, n in counts.items()], outputs={MARTS_PUBLISHED: where}
    )


def _result(report: LoadReport, counts: list[TableCount] | None = None) -> StepResult:
    counts = list(counts or [])
    counts += [TableCount("bronze", t, n) for t, n in report.bronze_rows.items()]
    counts += [TableCount("raw", t, n) for t, n in report.raw_rows.items()]
    outputs = {
        f"cofre://bronze/{report.source}": str(report.manifest or "no new data"),
        f"cofre://raw/{report.source}": f"raw_{report.source}",
    }
    return StepResult(counts=counts, outputs=outputs)


PIPELINE = StepGraph(
    [
        Step(
            "prepare_olist",
            "find or generate the nine Olist CSV files",
            prepare_olist,
            outputs=(OLIST_FILES,),
        ),
        Step(
            "ingest_olist",
            "Olist CSV -> bronze Parquet + raw_olist (quarantining bad rows)",
            ingest_olist,
            inputs=(OLIST_FILES,),
            outputs=("cofre://bronze/olist", "cofre://raw/olist"),
        ),
        Step(
            "ingest_ipca",
            "BCB SGS series 433 (IPCA) -> bronze + raw_bcb, incremental by month",
            ingest_ipca,
            outputs=("cofre://bronze/bcb", "cofre://raw/bcb"),
        ),
        Step(
            "ingest_weather",
            "OpenWeather current weather of the 27 capitals -> bronze + raw_openweather",
            ingest_weather,
            outputs=("cofre://bronze/openweather", "cofre://raw/openweather"),
        ),
        Step(
            "transform_silver",
            "dbt build: seeds, staging, masked silver and their tests",
            transform_silver,
            inputs=RAW,
            outputs=(SILVER_BUILT,),
        ),
        *GOLD_STEPS,
        Step(
            "transform_marts",
            "dbt build: star-schema marts on silver and gold, and their tests (quality gates)",
            transform_marts,
            inputs=(SILVER_BUILT, GOLD_WAREHOUSE),
            outputs=(MARTS_BUILT,),
        ),
        Step(
            "publish_marts",
            "publish the tested marts atomically to their readers",
            publish_marts,
            inputs=(MARTS_BUILT, GOLD_WAREHOUSE),
            outputs=(MARTS_PUBLISHED,),
        ),
    ]
)
