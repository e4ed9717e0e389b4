"""The ingestion steps: find or generate the Olist files, then load each source (Olist, BCB IPCA,
OpenWeather) into the bronze lake and the raw schemas, recording both writes in the audit trail."""

from __future__ import annotations

from dataclasses import asdict
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
from orchestration.graph import StepContext, StepResult, TableCount
from orchestration.steps.assets import OLIST_FILES

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

    source = olist_source(s.input_dir, stats, progress, lake=ctx.services.lake)
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
    for package in report.aborted:  # what a failed or killed run left pending: never loaded instead
        services.audit.record(
            "ingest.package_aborted",
            target=f"dlt/{package.pipeline}/{package.load_id}",
            details={
                "run_id": ctx.run_id,
                "state": package.state,
                "dead_run": package.dead_run,
                "owner_pid": package.owner_pid,
                "owner_started_at": package.owner_started_at,
            },
        )
    if report.raw_loads:
        services.audit.record(
            "warehouse.write",
            target=f"{services.warehouse.describe()}#raw_{report.source}",
            details={"run_id": ctx.run_id, "bronze_loads": report.raw_loads, "rows": report.raw_rows},
        )
    return report


def _result(report: LoadReport, counts: list[TableCount] | None = None) -> StepResult:
    counts = list(counts or [])
    counts += [TableCount("bronze", t, n) for t, n in report.bronze_rows.items()]
    counts += [TableCount("raw", t, n) for t, n in report.raw_rows.items()]
    outputs = {
        f"cofre://bronze/{report.source}": str(report.manifest or "no new data"),
        f"cofre://raw/{report.source}": f"raw_{report.source}",
    }
    notes = []
    if report.unchanged:
        notes.append(f"unchanged (already in bronze): {', '.join(sorted(report.unchanged))}")
    for package in report.aborted:
        by = "a killed run" if package.dead_run else "a failed run"
        notes.append(f"aborted dlt package {package.load_id} left pending by {by}")
    return StepResult(counts=counts, outputs=outputs, notes=notes)
