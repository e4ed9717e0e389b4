"""The three steps of the gold layer, ready to register in THE step graph (orchestration/steps/__init__.py):

    export_silver  cofre://warehouse/silver      -> cofre://lake/silver
    gold           cofre://lake/silver           -> cofre://lake/gold
    load_gold      cofre://lake/gold             -> cofre://warehouse/gold

Each is a thin call into a library (silver_export, spark, gold_load) with explicit inputs, and records
its writes in the audit trail. `GOLD_STEPS` holds the Step objects.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from orchestration.gold.load import describe, gold_tables, load_gold_duckdb, load_gold_postgres
from orchestration.gold.silver_export import export_silver_duckdb, export_silver_postgres
from orchestration.gold.spark import GOLD_JOBS, in_process, run_gold, spark_settings, submit
from orchestration.graph import Step, StepContext, StepResult, TableCount
from orchestration.steps.assets import GOLD_LAKE, GOLD_WAREHOUSE, SILVER_BUILT, SILVER_LAKE
from orchestration.warehouse.schemas import GOLD_SCHEMA


def _work_dir(ctx: StepContext, layer: str) -> Path:
    """Where Spark reads and writes a layer: the lake itself when it is local; with an S3 lake, a local
    working copy under the state directory that is mirrored to the lake (these machines' Spark has no S3A
    jars; the stack's Spark image reads s3a:// directly, see docs/spark.md)."""
    lake = ctx.services.lake
    return lake.layer_dir(layer) if lake.is_local else ctx.settings.home / "spark" / layer


def _mirror(ctx: StepContext, local_dir: Path, layer: str) -> None:
    """Upload a layer's working copy to an S3 lake, then remove objects the new copy no longer has."""
    store = ctx.services.lake.layer(layer)
    keys = {str(f.relative_to(local_dir)): f for f in sorted(local_dir.rglob("*")) if f.is_file()}
    for key, path in keys.items():
        store.put(key, path.read_bytes())
    for stale in set(store.list()) - set(keys):
        store.delete(stale)


def _fetch(ctx: StepContext, layer: str, local_dir: Path) -> None:
    """Replace a layer's working copy with the layer as it is on an S3 lake (after a cluster wrote it)."""
    store = ctx.services.lake.layer(layer)
    shutil.rmtree(local_dir, ignore_errors=True)
    for key in store.list():
        target = local_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.read_bytes(key))


def export_silver(ctx: StepContext) -> StepResult:
    """Masked silver tables (and the IPCA series) from the warehouse to the lake as Parquet."""
    s = ctx.settings
    silver_dir = _work_dir(ctx, "silver")
    ctx.reporter.task("export masked silver to the lake", total=None)
    if s.target == "duckdb":
        export = export_silver_duckdb(s.warehouse_path, silver_dir, run_id=ctx.run_id)
    else:
        con = ctx.services.warehouse.connect_postgres()
        try:
            export = export_silver_postgres(con, silver_dir, run_id=ctx.run_id)
        finally:
            con.close()
    if not ctx.services.lake.is_local:
        _mirror(ctx, silver_dir, "silver")
    ctx.services.audit.record(
        "lake.write",
        target="silver",
        details={"run_id": ctx.run_id, "location": str(silver_dir), "rows": export.rows},
    )
    return StepResult(
        counts=[TableCount("silver_lake", t, n) for t, n in export.rows.items()],
        outputs={SILVER_LAKE: ctx.services.lake.layer_url("silver")},
        notes=[f"silver export {export.seconds:.1f} s"],
    )


def gold(ctx: StepContext) -> StepResult:
    """Every Spark gold job on the lake's silver. With a `local[N]` master (the embedded default) they
    share one in-process session, on the working copy of an S3 lake (see `_work_dir`); with any other
    master (`Settings.spark_master`) each job goes through spark-submit and reads and writes the lake
    itself (s3a:// on S3: the stack's Spark image carries hadoop-aws), and an S3 gold layer is then
    fetched into the working copy that `load_gold` reads."""
    s = ctx.settings
    lake = ctx.services.lake
    task = ctx.reporter.task("Spark gold jobs", total=len(GOLD_JOBS))
    gold_dir = _work_dir(ctx, "gold")
    spark = spark_settings(s, master=s.spark_master)
    if in_process(s.spark_master):
        silver_dir = _work_dir(ctx, "silver")
        local = s if lake.is_local else s.model_copy(update={"lake_url": None})
        timings = run_gold(local, spark=spark, silver_uri=silver_dir.as_uri(), gold_uri=gold_dir.as_uri())
        task.update(len(GOLD_JOBS))
        if not lake.is_local:
            _mirror(ctx, gold_dir, "gold")
    else:
        timings = {}
        for job in GOLD_JOBS:
            timings[job] = submit(job, None, s, ctx.services.vault, mode="submit", spark=spark).seconds
            task.advance()
        if not lake.is_local:
            _fetch(ctx, "gold", gold_dir)
    rows = _gold_rows(gold_dir)
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
    """Gold Parquet into the warehouse schema `gold`, then reconcile gold totals with silver to the cent
    (a difference fails the step: ReconciliationError)."""
    s = ctx.settings
    gold_dir = _work_dir(ctx, "gold")
    ctx.reporter.task("load gold into the warehouse", total=None)
    if s.target == "duckdb":
        load = load_gold_duckdb(s.warehouse_path, gold_dir)
    else:
        con = ctx.services.warehouse.connect_postgres()
        try:
            load = load_gold_postgres(con, gold_dir)
        finally:
            con.close()
    where = f"{ctx.services.warehouse.describe()}#{GOLD_SCHEMA}"
    ctx.services.audit.record(
        "warehouse.write", target=where, details={"run_id": ctx.run_id, "rows": load.rows}
    )
    ctx.services.audit.record(
        "gate.result",
        target="gold reconciliation",
        outcome="success",
        details={"run_id": ctx.run_id, "checks": describe(load)},
    )
    return StepResult(
        counts=[TableCount("gold", t, n) for t, n in load.rows.items()],
        outputs={GOLD_WAREHOUSE: where},
        notes=[f"gold load {load.seconds:.1f} s; reconciled: {len(load.checks)} totals"],
    )


def _gold_rows(gold_dir: Path) -> dict[str, int]:
    return {
        table: sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("*.parquet"))
        for table, folder in gold_tables(gold_dir).items()
    }


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
        "gold Parquet -> warehouse schema gold, reconciled with silver to the cent",
        load_gold,
        inputs=(GOLD_LAKE,),
        outputs=(GOLD_WAREHOUSE,),
    ),
)
