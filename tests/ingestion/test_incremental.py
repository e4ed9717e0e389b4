"""Incremental Olist ingestion: an input file already in bronze is neither copied again nor reloaded, raw
keeps the current rows, and quarantine holds the rows of the loads raw's tables come from."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion.errors import RawMismatchError
from ingestion.lake import Lake
from ingestion.olist_schema import OLIST_TABLES, ORDER_ITEMS, ORDERS, SELLERS
from tests.ingestion.ingest_child import run
from tests.ingestion.test_crash_recovery import csv_rows

pytestmark = pytest.mark.integration
TABLES = sorted(t.table for t in OLIST_TABLES)


def bronze_data_files(home: Path) -> set[str]:
    bronze = home / "lake" / "bronze" / "olist"
    return {str(p.relative_to(bronze)) for p in bronze.rglob("*.parquet")}


def raw(home: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(home / "warehouse" / "raw.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def raw_counts(home: Path) -> dict[str, int]:
    return {t: int(raw(home, f"select count(*) from raw_olist.{t}")[0][0]) for t in [*TABLES, "quarantine"]}


@pytest.fixture
def folder(olist_small: Path, tmp_path: Path) -> Path:
    """The small delivery with bad rows in two files, so that quarantine has rows of two tables."""
    folder = tmp_path / "olist"
    shutil.copytree(olist_small, folder)
    with (folder / ORDERS.file_name).open("ab") as f:
        f.write(b"deadbeefdeadbeefdeadbeefdeadbeef,c,delivered\n")
    with (folder / ORDER_ITEMS.file_name).open("ab") as f:
        f.write(b"deadbeefdeadbeefdeadbeefdeadbeef,1,p,s,not a date,1.00,1.00\n")
    return folder


def test_same_folder_twice_copies_nothing_and_changes_nothing(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, first_stats = run(home, folder, incremental=True)
    assert first.unchanged == [] and {f.status for f in first_stats.files.values()} == {"loaded"}
    files, counts = bronze_data_files(home), raw_counts(home)
    assert counts["quarantine"] == 2

    second, stats = run(home, folder, incremental=True)
    assert second.unchanged == TABLES
    assert bronze_data_files(home) == files  # no new bronze data file
    assert second.raw_loads == []
    assert raw_counts(home) == counts  # raw keeps its rows; quarantine is not doubled
    for table, file_stats in stats.files.items():  # the run summary still has the input's numbers
        assert file_stats.status == "unchanged" and file_stats.load_id == first.load_id
        assert file_stats.rows_loaded == first_stats.files[table].rows_loaded
        assert file_stats.rows_quarantined == first_stats.files[table].rows_quarantined
    # dlt makes no load without data, but the run's manifest, without objects, records the inputs
    manifest = Lake(home / "lake").manifest("olist", str(second.load_id))
    assert manifest.objects == []
    assert {i["table"]: i["status"] for i in manifest.inputs} == dict.fromkeys(TABLES, "unchanged")


def test_a_changed_file_is_the_only_new_bronze_load_and_supersedes_its_quarantine(
    folder: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first, _ = run(home, folder, incremental=True)
    before = raw_counts(home)

    # A new delivery of the orders file: one order less, and a second bad row.
    orders = folder / ORDERS.file_name
    lines = orders.read_bytes().splitlines(keepends=True)
    orders.write_bytes(b"".join([lines[0], *lines[2:]]) + b"deadbeefdeadbeefdeadbeefdeadbee2,c\n")
    second, stats = run(home, folder, incremental=True)

    assert second.unchanged == [t for t in TABLES if t != "orders"]
    manifest = Lake(home / "lake").manifest("olist", str(second.load_id))
    assert {o.table for o in manifest.objects} == {"orders", "quarantine"}
    assert second.raw_loads == [second.load_id]
    after = raw_counts(home)
    assert after["orders"] == before["orders"] - 1 == stats.files["orders"].rows_loaded
    assert {t: n for t, n in after.items() if t not in ("orders", "quarantine")} == {
        t: n for t, n in before.items() if t not in ("orders", "quarantine")
    }
    quarantine = raw(
        home,
        "select source_table, _bronze_load_id, count(*) from raw_olist.quarantine group by all order by 1",
    )
    assert quarantine == [("order_items", first.load_id, 1), ("orders", second.load_id, 2)]


def test_without_the_lake_every_run_reloads_and_quarantine_does_not_accumulate(
    folder: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    run(home, folder)
    counts = raw_counts(home)
    second, _ = run(home, folder)
    assert second.unchanged == [] and second.raw_loads == [second.load_id]
    assert raw_counts(home) == counts
    assert raw(home, "select distinct _bronze_load_id from raw_olist.quarantine") == [(second.load_id,)]


def test_raw_that_does_not_match_bronze_fails_the_run(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, folder, incremental=True)
    with duckdb.connect(str(home / "warehouse" / "raw.duckdb")) as con:
        con.execute(
            "delete from raw_olist.sellers "
            "where seller_id in (select seller_id from raw_olist.sellers limit 1)"
        )
    with pytest.raises(RawMismatchError, match=r"sellers: \d+ rows .* bronze manifest of load"):
        run(home, folder, incremental=True)
    sellers = len(csv_rows(folder / SELLERS.file_name))
    assert raw_counts(home)["sellers"] == sellers - 1  # nothing was reported on it, nothing hidden

    # The next run reloads the load raw's tables should come from, and raw is right again.
    report, _ = run(home, folder, incremental=True)
    assert raw_counts(home)["sellers"] == report.raw_rows["sellers"] == sellers
    assert raw(home, "select count(*) from raw_olist.quarantine")[0][0] == 2
