"""Silver export -> gold jobs -> gold in the warehouse, on a real warehouse built by `cofre run --scale
0.01`; reconciliation to the cent, the PostgreSQL path, and the gold step on a local cluster of two
executor JVMs (spark-submit) giving the same rows as local mode, with no secret in any file."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.gold.load import (
    _csv,
    _pg_type,
    gold_tables,
    load_gold_duckdb,
    load_gold_postgres,
)
from orchestration.gold.silver_export import (
    EXPORT_MANIFEST,
    IPCA_TABLE,
    SILVER_TABLES,
    export_silver_duckdb,
    export_silver_postgres,
)
from orchestration.graph import StepContext, StepResult
from orchestration.services import build_services
from orchestration.settings import Settings
from orchestration.steps import PIPELINE
from orchestration.steps.gold import GOLD_STEPS, GOLD_WAREHOUSE
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.spark_jobs.conftest import read_rows
from tests.spark_jobs.standalone import standalone_cluster

pytestmark = pytest.mark.integration


class _Reporter:
    def task(self, description: str, total: int | None = None, unit: str = "rows") -> Any:
        return self

    def advance(self, amount: int = 1) -> None:
        pass

    def update(self, completed: int, total: int | None = None) -> None:
        pass

    def log(self, message: str) -> None:
        pass


RAW_IDENTIFIERS = {"customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city"}
"""Silver keeps (redacted) review text, but no raw identifier of a person (gold keeps neither)."""


@pytest.fixture(scope="module")
def stepped(spark: Any, warehouse_home: Path) -> tuple[Settings, list[StepResult]]:
    """The three gold steps, run once with real services on the real warehouse (they share the test's
    Spark session): export_silver, gold, load_gold."""
    settings = Settings(home=warehouse_home, scale=0.01)
    ctx = StepContext(settings, "test-run", _Reporter(), build_services(settings))
    return settings, [step.run(ctx) for step in GOLD_STEPS]


@pytest.fixture(scope="module")
def settings(stepped: tuple[Settings, list[StepResult]]) -> Settings:
    return stepped[0]


@pytest.fixture(scope="module")
def gold_built(settings: Settings) -> Settings:
    return settings


def test_silver_export_layout_counts_and_masking(settings: Settings) -> None:
    silver = settings.lake_dir / "silver"
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for table in SILVER_TABLES:
            files = list((silver / table).iterdir())
            assert [f.name for f in files] == ["part-0.parquet"]
            expected = con.execute(f"select count(*) from silver.{table}").fetchone()
            assert expected is not None
            assert pq.ParquetFile(files[0]).metadata.num_rows == expected[0], table
            assert not {n.lower() for n in pq.read_schema(files[0]).names} & RAW_IDENTIFIERS
    finally:
        con.close()
    assert pq.read_schema(silver / IPCA_TABLE / "part-0.parquet").names == ["month_start", "ipca_pct"]
    assert (
        str(pq.read_schema(silver / "order_items" / "part-0.parquet").field("price").type)
        == "decimal128(12, 2)"
    )
    assert sorted(p.name for p in silver.iterdir() if p.name.startswith(("_", "."))) == [EXPORT_MANIFEST]
    assert not (settings.lake_dir / "silver" / "raw_olist").exists()


def test_a_second_export_replaces_the_first(settings: Settings) -> None:
    silver = settings.lake_dir / "silver"
    before = {t: pq.ParquetFile(silver / t / "part-0.parquet").metadata.num_rows for t in SILVER_TABLES}
    again = export_silver_duckdb(settings.warehouse_path, silver)
    assert {t: again.rows[t] for t in SILVER_TABLES} == before
    assert sorted(p.name for p in silver.iterdir()) == sorted([*SILVER_TABLES, IPCA_TABLE, EXPORT_MANIFEST])


def test_gold_in_duckdb_reconciles_with_silver_to_the_cent(gold_built: Settings) -> None:
    load = load_gold_duckdb(gold_built.warehouse_path, gold_built.lake_dir / "gold")
    assert set(load.rows) == {
        "sales_daily",
        "seller_scorecard",
        "customer_cohorts",
        "customer_rfm",
        "delivery_routes",
        "category_cooccurrence",
    }
    assert all(n > 0 for n in load.rows.values()), load.rows
    con = duckdb.connect(str(gold_built.warehouse_path), read_only=True)
    try:
        months = con.execute("select count(distinct sale_month) from gold.sales_daily").fetchone()
        assert months is not None and months[0] > 1
    finally:
        con.close()
    assert _reconcile_with_dbt(gold_built) == []


def test_the_reconciliation_gate_names_a_gold_total_one_cent_off(gold_built: Settings) -> None:
    """One cent more revenue on one gold row: the dbt gate fails, naming the test (and the totals it
    stores name sales_daily.revenue); restored, it passes again."""

    def shift(cents: str) -> None:
        with duckdb.connect(str(gold_built.warehouse_path)) as con:
            con.execute(
                f"update gold.sales_daily set revenue = revenue + {cents} "
                "where rowid = (select min(rowid) from gold.sales_daily)"
            )

    shift("0.01")
    try:
        failures = _reconcile_with_dbt(gold_built)
        assert len(failures) == 1 and "assert_gold_reconciles_to_silver" in failures[0], failures
        assert "1 failing row" in failures[0]
    finally:
        shift("-0.01")
    assert _reconcile_with_dbt(gold_built) == []


def _reconcile_with_dbt(settings: Settings) -> list[str]:
    """`dbt test --select assert_gold_reconciles_to_silver` on the warehouse of `settings`: its failures."""
    from orchestration.services import open_vault
    from orchestration.warehouse.dbt import run_dbt

    run = run_dbt(
        ["test", "--select", "assert_gold_reconciles_to_silver"], settings, open_vault(settings, actor="test")
    )
    assert run.success or run.failures, "dbt did not run the reconciliation test"
    return run.failures


def test_postgres_export_and_gold_load(gold_built: Settings, pg_database: str, tmp_path: Path) -> None:
    """A PostgreSQL warehouse with the same silver: the export has the same layout and rows, and the
    gold loaded into PostgreSQL reconciles with its silver."""
    import psycopg2

    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=pg_database)
    try:
        _seed_postgres_silver(con, gold_built.lake_dir / "silver")
        export = export_silver_postgres(con, tmp_path / "silver")
        for table in (*SILVER_TABLES, IPCA_TABLE):
            ours = pq.read_table(tmp_path / "silver" / table / "part-0.parquet")
            theirs = pq.read_table(gold_built.lake_dir / "silver" / table / "part-0.parquet")
            assert ours.num_rows == theirs.num_rows == export.rows[table], table
            assert ours.schema.names == theirs.schema.names, table
        price = pq.read_schema(tmp_path / "silver" / "order_items" / "part-0.parquet").field("price").type
        assert str(price) == "decimal128(12, 2)"
        load = load_gold_postgres(con, gold_built.lake_dir / "gold")
        assert set(load.rows) == set(gold_tables(gold_built.lake_dir / "gold"))
    finally:
        con.close()
    on_postgres = Settings(home=gold_built.home, target="postgres", pg_database=pg_database)
    assert _reconcile_with_dbt(on_postgres) == []


def _seed_postgres_silver(con: Any, silver: Path) -> None:
    with con.cursor() as cursor:
        cursor.execute("create schema silver; create schema staging")
        for table in (*SILVER_TABLES, IPCA_TABLE):
            data = pq.read_table(silver / table / "part-0.parquet")
            name = "staging.stg_bcb__ipca" if table == IPCA_TABLE else f"silver.{table}"
            columns = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in data.schema)
            cursor.execute(f"create table {name} ({columns})")
            cursor.copy_expert(f"copy {name} from stdin with (format csv, null '\\N')", _csv(data))
    con.commit()


def test_a_cluster_master_runs_the_gold_step_through_spark_submit(gold_built: Settings) -> None:
    """`spark_master` other than local[N] (here `local-cluster[2,1,1024]`: a master and two executor
    JVMs) sends every job through spark-submit; every gold table equals, row for row, the in-process
    output, and no vault value reaches any file of the state directory."""
    gold_dir = gold_built.lake_dir / "gold"
    before = {table: read_rows(folder) for table, folder in gold_tables(gold_dir).items()}
    assert before and all(before.values())
    started = time.time_ns()
    cluster = gold_built.model_copy(update={"spark_master": "local-cluster[2,1,1024]"})
    services = build_services(cluster)
    result = PIPELINE["gold"].run(StepContext(cluster, "cluster-run", _Reporter(), services))

    assert {table: read_rows(folder) for table, folder in gold_tables(gold_dir).items()} == before
    assert all(f.stat().st_mtime_ns >= started for f in gold_dir.rglob("*.parquet"))  # rewritten
    assert "spark_startup" not in result.notes[0]  # no in-process session: one spark-submit per job
    assert {c.table for c in result.counts} == set(before)
    secrets = [v.encode() for v in services.vault.secret_values()]
    for path in (p for p in gold_built.home.rglob("*") if p.is_file() and p.parent.name != "vault"):
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path


def test_gold_steps_in_the_step_graph(stepped: tuple[Settings, list[StepResult]]) -> None:
    """The three steps sit in THE graph between the dbt build of silver and that of the marts, and ran
    end to end with real services."""
    settings, results = stepped
    order = [s.name for s in PIPELINE.order()]
    assert all(step.name in order for step in GOLD_STEPS)
    steps = ("transform_silver", "export_silver", "gold", "load_gold", "transform_marts", "publish_marts")
    assert [order.index(name) for name in steps] == sorted(order.index(name) for name in steps)
    assert results[-1].outputs == {GOLD_WAREHOUSE: f"{settings.warehouse_path}#gold"}
    assert {c.table for c in results[1].counts} >= {"sales_daily", "category_cooccurrence"}
    assert results[-1].notes[0].startswith("gold load ")
    assert {c.table for c in results[-1].counts} == {c.table for c in results[1].counts}
    # load_gold's write is audited (its reconciliation is the marts build's dbt test: see above)
    events = [json.loads(line) for line in settings.audit_path.read_text(encoding="utf-8").splitlines()]
    assert any(e["action"] == "warehouse.write" and e["target"].endswith("#gold") for e in events)


def test_a_standalone_cluster_gives_local_modes_gold_and_survives_a_killed_worker(
    gold_built: Settings, tmp_path: Path
) -> None:
    """A real standalone cluster (a master and two workers, separate processes of pyspark's own
    `spark-class`, 1 core and 1 GB each): the gold step against `spark://…` writes every gold table
    exactly as local mode did. Then, with the step running again, one worker is killed with SIGKILL (it
    and its executor: a lost machine) once the application holds executors on both workers and its jobs
    have begun: Spark reschedules the lost tasks on the other worker, and the step ends with the same rows."""
    gold_dir = gold_built.lake_dir / "gold"
    local = {table: read_rows(folder) for table, folder in gold_tables(gold_dir).items()}
    assert len(local) == 6 and all(local.values())

    with standalone_cluster(tmp_path / "cluster", workers=2, cores=1, memory="1g") as cluster:
        settings = gold_built.model_copy(update={"spark_master": cluster.url})
        services = build_services(settings)
        started = time.time_ns()
        result = PIPELINE["gold"].run(StepContext(settings, "cluster-1", _Reporter(), services))
        assert {table: read_rows(folder) for table, folder in gold_tables(gold_dir).items()} == local
        assert all(f.stat().st_mtime_ns >= started for f in gold_dir.rglob("*.parquet"))  # rewritten
        assert "spark_submit" in result.notes[0] and "spark_startup" not in result.notes[0]
        (app,) = cluster.state()["completedapps"]
        assert app["state"] == "FINISHED"

        # Again, and kill -9 a worker in the middle.
        outcome: dict[str, Any] = {}

        def step() -> None:
            try:
                outcome["result"] = PIPELINE["gold"].run(
                    StepContext(settings, "cluster-2", _Reporter(), services)
                )
            except BaseException as error:  # reported by the asserts below
                outcome["error"] = error

        began = time.time_ns()
        runner = threading.Thread(target=step)
        runner.start()

        def both_busy_and_writing() -> bool:
            workers = cluster.alive_workers()
            busy = len(workers) == 2 and all(w["coresused"] > 0 for w in workers)
            try:
                written = (gold_dir / "sales_daily").rglob("*.parquet")
                return busy and any(f.stat().st_mtime_ns >= began for f in written)
            except OSError:  # the table's folder is being swapped in
                return False

        deadline = time.monotonic() + 240
        while not both_busy_and_writing():
            assert runner.is_alive(), outcome
            assert time.monotonic() < deadline, cluster.state()
            time.sleep(0.2)
        cluster.kill_worker(0)
        assert runner.is_alive(), "the kill came after the step had finished"
        runner.join(timeout=600)
        assert not runner.is_alive() and "error" not in outcome, outcome
        assert len(cluster.alive_workers()) == 1
        assert {table: read_rows(folder) for table, folder in gold_tables(gold_dir).items()} == local
        assert all(f.stat().st_mtime_ns >= began for f in gold_dir.rglob("*.parquet"))
        finished = [a for a in cluster.state()["completedapps"] if a["state"] == "FINISHED"]
        assert len(finished) == 2
