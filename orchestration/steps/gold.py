"""The three steps of the gold layer, ready to register in THE step graph (orchestration/steps/__init__.py):

    export_silver  cofre://warehouse/silver      -> cofre://lake/silver
    gold           cofre://lake/silver           -> cofre://lake/gold
    load_gold      cofre://lake/gold             -> cofre://warehouse/gold

Each is a thin call into a library (silver_export, spark, gold_load) with explicit inputs, and records
its writes in the audit trail. `GOLD_STEPS` holds the Step objects.
"""

from __future__ import annotations

from pathlib import Path

from ingestion.lake import Store
from orchestration.gold.load import gold_table_rows, load_gold_duckdb, load_gold_postgres
from orchestration.gold.silver_export import export_silver_duckdb, export_silver_postgres
from orchestration.gold.spark import GOLD_JOBS, in_process, run_gold, spark_settings
from orchestration.gold.submit import submit_all
from orchestration.graph import Step, StepContext, StepResult, TableCount
from orchestration.steps.assets import GOLD_LAKE, GOLD_WAREHOUSE, SILVER_BUILT, SILVER_LAKE
from orchestration.warehouse.schemas import GOLD_SCHEMA


def _layer(ctx: StepContext, layer: str) -> Path | Store:
    """A layer of the lake itself: its folder when the lake is local, its S3 store otherwise (Spark then
    reads and writes it over s3a://; nothing is copied to local disk)."""
    lake = ctx.services.lake
    return lake.layer_dir(layer) if lake.is_local else lake.layer(layer)


def export_silver(ctx: StepContext) -> StepResult:
    """Masked silver tables (and the IPCA series) from the warehouse to the lake as Parquet."""
    s = ctx.settings
    silver = _layer(ctx, "silver")
    task = ctx.reporter.task("export masked silver to the lake", total=None)
    if s.target == "duckdb":
        export = export_silver_duckdb(s.warehouse_path, silver, run_id=ctx.run_id)
    else:
        con = ctx.services.warehouse.connect_postgres()
        try:
            export = export_silver_postgres(con, silver, run_id=ctx.run_id)
        finally:
            con.close()
    task.update(sum(export.rows.values()))
    ctx.services.audit.record(
        "lake.write",
        target="silver",
        details={"run_id": ctx.run_id, "location": export.location, "rows": export.rows},
    )
    return StepResult(
        counts=[TableCount("silver_lake", t, n) for t, n in export.rows.items()],
        outputs={SILVER_LAKE: ctx.services.lake.layer_url("silver")},
        notes=[f"silver export {export.seconds:.1f} s"],
    )


def gold(ctx: StepContext) -> StepResult:
    """Every Spark gold job on the lake's silver, reading and writing the lake itself (file:// or, on S3,
    s3a:// with the vault's key pair in the Spark JVM's environment only). With a `local[N]` master (the
    embedded default) they share one in-process session; with any other master (`Settings.spark_master`)
    they go to it in one spark-submit application (`spark_jobs/run_all.py`)."""
    s = ctx.settings
    task = ctx.reporter.task("Spark gold jobs", total=len(GOLD_JOBS), unit="jobs")
    spark = spark_settings(s, master=s.spark_master)
    if in_process(s.spark_master):
        timings = run_gold(s, spark=spark, vault=ctx.services.vault, on_job=lambda job: task.advance())
    else:
        timings = submit_all(s, ctx.services.vault, spark=spark)
        task.update(len(GOLD_JOBS))
    rows = gold_table_rows(_layer(ctx, "gold"))
    ctx.services.audit.record(
        "lake.write",
        target="gold",
        details={"run_id": ctx.run_id, "rows": rows, "seconds": {k: round(v, 1) for k, v in timings.items()}},
    )
    return StepResult(
        counts=[TableCount("gold_lake", t, n) for t, n in rows.items()],
        outputs={GOLD_LAKE: ctx.services.lake.layer_url("gold")},
        notes=[", ".join(f"{k} {v:.1f} s" for k, v in timings.items())],
    )


def load_gold(ctx: StepContext) -> StepResult:
    """Gold Parquet into the warehouse schema `gold` (reconciled with silver to the cent by the marts
    build's dbt test `assert_gold_reconciles_to_silver`, before anything is published)."""
    s = ctx.settings
    gold_layer = _layer(ctx, "gold")
    task = ctx.reporter.task("load gold into the warehouse", total=None)
    if s.target == "duckdb":
        load = load_gold_duckdb(s.warehouse_path, gold_layer)
    else:
        con = ctx.services.warehouse.connect_postgres()
        try:
            load = load_gold_postgres(con, gold_layer)
        finally:
            con.close()
    task.update(sum(load.rows.values()))
    where = f"{ctx.services.warehouse.describe()}#{GOLD_SCHEMA}"
    ctx.services.audit.record(
        "warehouse.write", target=where, details={"run_id": ctx.run_id, "rows": load.rows}
    )
    return StepResult(
        counts=[TableCount("gold", t, n) for t, n in load.rows.items()],
        outputs={GOLD_WAREHOUSE: where},
        notes=[f"gold load {load.seconds:.1f} s"],
    )


GOLD_STEPS = (
    Step(
        "export_silver",
        "masked silver tables -> lake Parquet (silver/<table>/), atomically per run",
        export_silver,
        inputs=(SILVER_BUILT,),
        outputs=(SILVER_LAKE,),
    ),
    Step(
        "gold",
        "Spark gold jobs on the lake's silver -> gold Parquet",
        gold,
        inputs=(SILVER_LAKE,),
        outputs=(GOLD_LAKE,),
    ),
    Step(
        "load_gold",
        "gold Parquet -> warehouse schema gold",
        load_gold,
        inputs=(GOLD_LAKE,),
        outputs=(GOLD_WAREHOUSE,),
    ),
)
