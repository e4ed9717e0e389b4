"""Olist files -> bronze Parquet + raw tables, through real dlt pipelines into DuckDB and PostgreSQL."""

from __future__ import annotations

import csv
import secrets
import shutil
from dataclasses import asdict
from pathlib import Path

import dlt
import duckdb
import psycopg2
import pytest

from ingestion.errors import LakeError, OlistFileError
from ingestion.lake import Lake, sha256_file
from ingestion.olist_schema import OLIST_TABLES, ORDER_ITEMS, ORDER_REVIEWS, ORDERS
from ingestion.olist_source import ReadStats, olist_source
from ingestion.pipeline import LoadReport, ingest
from tests.conftest import PG_HOST, PG_PORT, PG_USER

pytestmark = pytest.mark.integration


def csv_records(path: Path) -> list[list[str]]:
    """Records of a file as a standard CSV reader sees them, header excluded."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return list(csv.reader(handle))[1:]


def run_ingest(folder: Path, home: Path, destination: object) -> tuple[LoadReport, ReadStats]:
    stats = ReadStats()
    report = ingest(
        olist_source(folder, stats),
        lake=Lake(home / "lake"),
        raw_destination=destination,
        raw_dataset="raw_olist",
        pipelines_dir=home / "dlt",
        inputs=lambda: [asdict(f) for f in stats.files.values()],
    )
    return report, stats


def lake_snapshot(lake_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(lake_dir)): sha256_file(p) for p in lake_dir.rglob("*") if p.is_file()}


def test_generated_files_load_completely_into_duckdb(olist_small: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    report, stats = run_ingest(olist_small, tmp_path, dlt.destinations.duckdb(str(warehouse)))

    for table in OLIST_TABLES:
        expected = len(csv_records(olist_small / table.file_name))
        assert stats.files[table.table].rows_loaded == expected, table.table
        assert report.bronze_rows[table.table] == expected, table.table
        assert report.raw_rows[table.table] == expected, table.table
    assert "quarantine" not in report.raw_rows

    con = duckdb.connect(str(warehouse), read_only=True)
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_olist' and table_name = 'orders'"
        ).fetchall()
    )
    assert types["order_id"] == "VARCHAR"
    assert types["order_purchase_timestamp"] == "TIMESTAMP"  # local wall-clock time, no zone invented
    zips = con.execute("select customer_zip_code_prefix from raw_olist.customers").fetchall()
    assert any(z[0].startswith("0") for z in zips) and all(len(z[0]) == 5 for z in zips)
    money = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_olist' and table_name = 'order_items'"
        ).fetchall()
    )
    assert money["price"] == "DECIMAL(12,2)"

    # Quoted multi-line review text arrives byte for byte.
    messages = {r[0] + r[1]: r[4] for r in csv_records(olist_small / ORDER_REVIEWS.file_name)}
    loaded = dict(
        con.execute(
            "select review_id || order_id, review_comment_message from raw_olist.order_reviews"
        ).fetchall()
    )
    assert any("\n" in m for m in messages.values())
    assert {k: (v or "") for k, v in loaded.items()} == messages


def test_manifest_describes_every_bronze_object(olist_small: Path, tmp_path: Path) -> None:
    report, _ = run_ingest(olist_small, tmp_path, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")))
    lake = Lake(tmp_path / "lake")
    (manifest,) = lake.manifests("olist")
    assert manifest.load_id == report.load_id
    for obj in manifest.objects:
        path = lake.bronze_dir("olist") / obj.path
        assert obj.path.startswith(f"{obj.table}/load_date=")
        assert f"/load_id={report.load_id}/" in obj.path
        assert sha256_file(path) == obj.sha256 and path.stat().st_size == obj.bytes
    inputs = {i["file_name"]: i for i in manifest.inputs}
    assert set(inputs) == {t.file_name for t in OLIST_TABLES}
    assert inputs[ORDERS.file_name]["sha256"] == sha256_file(olist_small / ORDERS.file_name)

    with pytest.raises(LakeError, match="write-once"):
        lake.write_manifest("olist", manifest.load_id, [])


def test_bad_rows_quarantined_and_every_row_accounted_for(olist_small: Path, tmp_path: Path) -> None:
    folder = tmp_path / "olist"
    shutil.copytree(olist_small, folder)
    order_id = csv_records(folder / ORDERS.file_name)[0][0]
    with (folder / ORDERS.file_name).open("ab") as f:
        f.write(b"deadbeefdeadbeefdeadbeefdeadbeef,c,delivered\n")  # too few fields
        f.write(b"deadbeefdeadbeefdeadbeefdeadbee1,c,delivered,not a date,,,,\n")
        f.write(b"deadbeefdeadbeefdeadbeefdeadbee2,c\xe9,delivered,2017-01-01 00:00:00,,,,\n")  # latin-1 byte
    with (folder / ORDER_ITEMS.file_name).open("a", encoding="utf-8") as f:
        f.write(f"{order_id},9,p,s,2017-01-01 00:00:00,12.345,1.00\n")  # three decimals

    report, stats = run_ingest(folder, tmp_path, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")))
    for table in OLIST_TABLES:
        records = len(csv_records(folder / table.file_name))
        file_stats = stats.files[table.table]
        assert report.raw_rows[table.table] + file_stats.rows_quarantined == records, table.table
    assert stats.files["orders"].rows_quarantined == 3
    assert stats.files["order_items"].rows_quarantined == 1

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    quarantined = con.execute(
        "select file_name, line_number, reason from raw_olist.quarantine order by file_name, line_number"
    ).fetchall()
    orders_lines = sum(1 for _ in (folder / ORDERS.file_name).open("rb"))
    assert [(f, n) for f, n, _ in quarantined if f == ORDERS.file_name] == [
        (ORDERS.file_name, orders_lines - 2),
        (ORDERS.file_name, orders_lines - 1),
        (ORDERS.file_name, orders_lines),
    ]
    reasons = " | ".join(r for *_, r in quarantined)
    assert "expected 8 fields, found 3" in reasons and "not valid UTF-8" in reasons
    assert "column price: '12.345'" in reasons


def test_failed_run_changes_nothing_already_loaded(olist_small: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    run_ingest(olist_small, tmp_path, dlt.destinations.duckdb(str(warehouse)))
    before_lake = lake_snapshot(tmp_path / "lake")
    con = duckdb.connect(str(warehouse), read_only=True)
    before_rows = con.execute("select count(*), sum(price) from raw_olist.order_items").fetchone()
    con.close()

    broken = tmp_path / "broken"
    shutil.copytree(olist_small, broken)
    (broken / ORDER_REVIEWS.file_name).unlink()
    with pytest.raises(OlistFileError, match=r"olist_order_reviews_dataset\.csv: file missing"):
        run_ingest(broken, tmp_path, dlt.destinations.duckdb(str(warehouse)))

    assert lake_snapshot(tmp_path / "lake") == before_lake
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*), sum(price) from raw_olist.order_items").fetchone() == before_rows


def test_second_load_adds_new_objects_and_never_rewrites_old_ones(olist_small: Path, tmp_path: Path) -> None:
    destination = dlt.destinations.duckdb(str(tmp_path / "w.duckdb"))
    first, _ = run_ingest(olist_small, tmp_path, destination)
    before = lake_snapshot(tmp_path / "lake")
    second, _ = run_ingest(olist_small, tmp_path, destination)
    after = lake_snapshot(tmp_path / "lake")
    assert first.load_id != second.load_id
    assert all(after[path] == digest for path, digest in before.items())  # nothing rewritten or removed
    assert second.raw_rows == first.raw_rows  # a full snapshot replaces, it does not double


def test_load_that_reached_bronze_but_not_raw_is_completed_next_run(
    olist_small: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the warehouse folder should be")
    with pytest.raises(Exception):  # noqa: B017 - dlt wraps the destination's error
        run_ingest(olist_small, tmp_path, dlt.destinations.duckdb(str(blocked / "w.duckdb")))
    (pending,) = Lake(tmp_path / "lake").manifests("olist")

    report, _ = run_ingest(olist_small, tmp_path, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")))
    assert report.raw_loads == [pending.load_id, report.load_id]
    assert report.raw_rows["orders"] == len(csv_records(olist_small / ORDERS.file_name))


def test_generated_files_load_into_postgres(olist_small: Path, tmp_path: Path, pg_database: str) -> None:
    # The server trusts loopback connections; dlt still wants a password, so the test makes one up.
    destination = dlt.destinations.postgres(
        credentials={
            "host": PG_HOST,
            "port": PG_PORT,
            "username": PG_USER,
            "database": pg_database,
            "password": secrets.token_urlsafe(16),
        }
    )
    report, _ = run_ingest(olist_small, tmp_path, destination)
    for table in OLIST_TABLES:
        assert report.raw_rows[table.table] == len(csv_records(olist_small / table.file_name)), table.table

    with (
        psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=pg_database) as con,
        con.cursor() as cursor,
    ):
        cursor.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_olist' and table_name = 'orders'"
        )
        types = dict(cursor.fetchall())
        cursor.execute("select count(*) from raw_olist.customers where customer_zip_code_prefix like '0%'")
        leading_zero = cursor.fetchone()[0]
    assert types["order_id"] == "character varying"
    assert types["order_purchase_timestamp"] == "timestamp without time zone"
    assert leading_zero > 0
