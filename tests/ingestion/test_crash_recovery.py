"""Crash safety of ingestion with real processes and a real SIGKILL: a killed load never leaks into the
next run, and raw always holds exactly the data of the loads the run used."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dlt
import duckdb
import psycopg2
import pytest

from ingestion.bcb_ipca import BCB_BASE_URL, bcb_source
from ingestion.errors import PipelineBusyError
from ingestion.lake import Lake
from ingestion.olist_generator import generate_olist
from ingestion.olist_schema import OLIST_TABLES, ORDERS
from ingestion.pipeline import ingest
from ingestion.replay import replay_session
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.ingestion.ingest_child import run

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return list(csv.reader(handle))[1:]


def expected_counts(folder: Path) -> dict[str, int]:
    return {t.table: len(csv_rows(folder / t.file_name)) for t in OLIST_TABLES}


def child(home: Path, folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ingestion.ingest_child", str(home), str(folder), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, out[-3000:] + err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def pg(database: str, *, autocommit: bool = False) -> psycopg2.extensions.connection:
    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=database)
    connection.autocommit = autocommit  # pg_stat_activity is a snapshot per transaction
    return connection


def wait_for_lock_wait(database: str, process: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until a connection of `database` waits on a lock (the child's raw load is blocked in PostgreSQL)."""
    deadline = time.monotonic() + timeout
    with pg("postgres", autocommit=True).cursor() as cursor:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            cursor.execute(
                "select count(*) from pg_stat_activity where datname = %s and wait_event_type = 'Lock'",
                (database,),
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the child never reached the raw load")


def raw_counts(database: str) -> dict[str, int]:
    counts = {}
    with pg(database) as con, con.cursor() as cursor:
        for table in OLIST_TABLES:
            cursor.execute(f"select count(*) from raw_olist.{table.table}")
            counts[table.table] = cursor.fetchone()[0]
    return counts


@pytest.fixture(scope="module")
def three_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("olist-deliveries")
    folders = (root / "a", root / "b", root / "c")
    for folder, scale, seed in zip(folders, (0.002, 0.003, 0.001), (11, 12, 13), strict=True):
        generate_olist(folder, scale=scale, seed=seed)
    return folders


def test_kill_during_raw_load_then_a_new_folder_loads_exactly_the_new_folder(
    three_folders: tuple[Path, Path, Path], tmp_path: Path, pg_database: str
) -> None:
    first, killed, new = three_folders
    home = tmp_path / "home"
    target = ("--target", "postgres", "--pg-database", pg_database)
    finish(child(home, first, *target))

    # The next load blocks on a lock the test holds on a raw table, inside its raw load, and is killed there.
    locker = pg(pg_database)
    with locker.cursor() as cursor:
        cursor.execute("lock table raw_olist.orders in access exclusive mode")
    process = child(home, killed, *target)
    try:
        wait_for_lock_wait(pg_database, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with pg("postgres", autocommit=True).cursor() as cursor:  # its server session dies with it
            cursor.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> %s",
                (pg_database, locker.get_backend_pid()),
            )
    finally:
        if process.poll() is None:
            process.kill()
        locker.rollback()
        locker.close()
    assert process.returncode == -signal.SIGKILL
    packages = list((home / "dlt" / "raw_olist" / "load" / "normalized").glob("*"))
    assert packages, "the kill did not leave a pending raw load package"

    report = finish(child(home, new, *target))
    aborted = report["aborted"]
    assert isinstance(aborted, list)
    assert [(a["pipeline"], a["dead_run"], a["owner_pid"]) for a in aborted] == [
        ("raw_olist", True, process.pid)
    ]
    want = expected_counts(new)
    assert raw_counts(pg_database) == want
    assert {t: report["raw_rows"][t] for t in want} == want  # type: ignore[index]
    with pg(pg_database) as con, con.cursor() as cursor:
        cursor.execute("select order_id from raw_olist.orders")
        loaded = {row[0] for row in cursor.fetchall()}
    assert loaded == {row[0] for row in csv_rows(new / ORDERS.file_name)}


def wait_for(pattern: str, root: Path, process: subprocess.Popen[str], timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the child finished before it could be killed"
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"{pattern} never appeared under {root}")


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("olist-big") / "sf0.1"
    generate_olist(folder, scale=0.1, seed=21)
    return folder


@pytest.mark.parametrize("pipeline", ["bronze_olist", "raw_olist"])
def test_kill_during_a_duckdb_ingestion_then_a_new_folder_loads_exactly_the_new_folder(
    pipeline: str, big_folder: Path, three_folders: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The embedded default: killed while dlt holds a package of the big delivery (bronze: extracting
    or loading; raw: loading), then a small delivery is ingested."""
    first, _, new = three_folders
    home = tmp_path / "home"
    finish(child(home, first))
    process = child(home, big_folder)
    try:
        stage = "load/normalized/*" if pipeline == "raw_olist" else "normalize/extracted/*"
        wait_for(f"dlt/{pipeline}/{stage}", home, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL

    report = finish(child(home, new))
    assert any(a["pipeline"] == pipeline and a["dead_run"] for a in report["aborted"])  # type: ignore[union-attr,index]
    want = expected_counts(new)
    assert {t: report["raw_rows"][t] for t in want} == want  # type: ignore[index]
    assert {t: report["bronze_rows"][t] for t in want} == want  # type: ignore[index]
    with duckdb.connect(str(home / "warehouse" / "raw.duckdb"), read_only=True) as con:
        loaded = {row[0] for row in con.execute("select order_id from raw_olist.orders").fetchall()}
        counts = {t: con.execute(f"select count(*) from raw_olist.{t}").fetchone()[0] for t in want}
    assert counts == want
    assert loaded == {row[0] for row in csv_rows(new / ORDERS.file_name)}


def test_a_second_ingestion_while_one_runs_stops_at_once_and_writes_nothing(
    three_folders: tuple[Path, Path, Path], tmp_path: Path, pg_database: str
) -> None:
    first, second, new = three_folders
    home = tmp_path / "home"
    target = ("--target", "postgres", "--pg-database", pg_database)
    finish(child(home, first, *target))
    locker = pg(pg_database)
    with locker.cursor() as cursor:
        cursor.execute("lock table raw_olist.orders in access exclusive mode")
    process = child(home, second, *target)
    try:
        wait_for_lock_wait(pg_database, process)  # the first run is inside its raw load
        manifests = sorted((home / "lake" / "bronze" / "olist" / "_manifests").iterdir())
        started = time.monotonic()
        with pytest.raises(PipelineBusyError, match=rf"in use by process {process.pid}\b"):
            run(home, new, target="postgres", pg_database=pg_database)
        assert time.monotonic() - started < 5
        assert sorted((home / "lake" / "bronze" / "olist" / "_manifests").iterdir()) == manifests
    finally:
        locker.rollback()
        locker.close()
    finish(process)  # the running ingestion was not disturbed
    assert raw_counts(pg_database) == expected_counts(second)


def test_an_aborted_ipca_package_takes_no_month_with_it(tmp_path: Path) -> None:
    """IPCA is incremental (a month cursor in the pipeline state). A package aborted after its run died
    must not take its months with it: the next ingestion asks for them again and loads them all.
    (Checked: this also holds with the packages deleted without dlt's state rewind, so it does not by
    itself prove the rewind; it pins the behaviour users see.)"""
    home, lake = tmp_path / "home", Lake(tmp_path / "home" / "lake")
    script = (
        "import os, signal, sys, dlt\n"
        "from dlt.destinations import filesystem\n"
        "from ingestion.bcb_ipca import BCB_BASE_URL, bcb_source\n"
        "from ingestion.lake import BRONZE_LAYOUT, Lake\n"
        "from ingestion.replay import replay_session\n"
        "lake = Lake(sys.argv[1])\n"
        "p = dlt.pipeline(pipeline_name='bronze_bcb', pipelines_dir=sys.argv[2], dataset_name='bcb',\n"
        "    destination=filesystem(bucket_url=lake.layer_url('bronze'), layout=BRONZE_LAYOUT))\n"
        "p.extract(bcb_source(BCB_BASE_URL, '2016-01', '2018-12', replay_session()))\n"
        "p.normalize()\n"
        "os.kill(os.getpid(), signal.SIGKILL)  # dies with its package normalized, not loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(lake.url), str(home / "dlt")], cwd=REPO)
    assert done.returncode == -signal.SIGKILL
    assert list((home / "dlt" / "bronze_bcb" / "load" / "normalized").iterdir())

    report = ingest(
        bcb_source(BCB_BASE_URL, "2016-01", "2018-12", replay_session()),
        lake=lake,
        raw_destination=dlt.destinations.duckdb(str(tmp_path / "raw.duckdb")),
        raw_dataset="raw_bcb",
        pipelines_dir=home / "dlt",
    )
    assert [(a.pipeline, a.state) for a in report.aborted] == [("bronze_bcb", "normalized")]
    assert report.bronze_rows == {"ipca": 36} and report.raw_rows == {"ipca": 36}


def cli_ingest(home: Path, folder: Path, pg_database: str) -> subprocess.Popen[str]:
    """`python -m orchestration ingest --olist-dir FOLDER --target postgres`, as users run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration", "ingest", "--olist-dir", str(folder), "--target", "postgres"],
        cwd=REPO,
        env={**os.environ, "COFRE_HOME": str(home), "COFRE_PG_DATABASE": pg_database},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_cli_killed_in_its_raw_load_then_run_on_a_new_folder_loads_the_new_folder(
    three_folders: tuple[Path, Path, Path], tmp_path: Path, pg_database: str
) -> None:
    """Issue 13, item 1, through the CLI: kill -9 during the raw load of `ingest_olist` (held there by a
    lock on a raw table, after the run's other raw writes committed), then a run on a NEW folder."""
    first, killed, new = three_folders
    home = tmp_path / "home"
    initial = cli_ingest(home, first, pg_database)
    out, _ = initial.communicate(timeout=600)
    assert initial.returncode == 0, out[-4000:]
    locker = pg(pg_database)
    with locker.cursor() as cursor:
        cursor.execute("lock table raw_olist.orders in access exclusive mode")
    process = cli_ingest(home, killed, pg_database)
    try:
        wait_for_lock_wait(pg_database, process, timeout=300)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with pg("postgres", autocommit=True).cursor() as cursor:
            cursor.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> %s",
                (pg_database, locker.get_backend_pid()),
            )
    finally:
        if process.poll() is None:
            process.kill()
        locker.rollback()
        locker.close()
    assert process.returncode == -signal.SIGKILL

    second = cli_ingest(home, new, pg_database)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-4000:]
    assert raw_counts(pg_database) == expected_counts(new)
