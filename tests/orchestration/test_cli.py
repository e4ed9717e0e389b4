"""`cofre` as a user runs it: a real subprocess on a fresh state directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingestion.olist_schema import OLIST_TABLES, ORDER_ITEMS

pytestmark = pytest.mark.integration
COFRE = [sys.executable, "-m", "orchestration"]


def cofre(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(COLUMNS="200", COFRE_HOME=str(home), AIRFLOW_HOME=str(home / "airflow"))
    return subprocess.run([*COFRE, *args], capture_output=True, text=True, env=env, timeout=600, check=False)


def last_record(home: Path) -> dict:
    (path,) = sorted((home / "runs").glob("*.json"))[-1:]
    return json.loads(path.read_text())


def test_run_end_to_end_then_again(tmp_path: Path) -> None:
    home = tmp_path / "state"
    first = cofre("run", "--scale", "0.01", home=home)
    assert first.returncode == 0, first.stdout + first.stderr
    for text in (
        "Rows per table and stage",
        "order_reviews",
        "ipca",
        "current_weather",
        "succeeded",
        str(home / "warehouse" / "cofre.duckdb"),
    ):
        assert text in first.stdout, text
    record = last_record(home)
    assert record["status"] == "succeeded"
    assert [s["name"] for s in record["steps"]][:2] == ["prepare_olist", "ingest_olist"]

    con = duckdb.connect(str(home / "warehouse" / "cofre.duckdb"), read_only=True)
    generated = next(s for s in record["steps"] if s["name"] == "prepare_olist")["result"]["counts"]
    expected = {c["table"]: c["rows"] for c in generated}
    for table in OLIST_TABLES:
        assert (
            con.execute(f"select count(*) from raw_olist.{table.table}").fetchone()[0]
            == expected[table.table]
        )
    assert con.execute("select count(*) from raw_bcb.ipca").fetchone()[0] == 36
    assert con.execute("select count(*) from raw_openweather.current_weather").fetchone()[0] == 27
    # The audit trail is mirrored to ops.audit_events, event for event.
    trail = (home / "audit" / "audit.jsonl").read_text().splitlines()
    mirrored = con.execute("select count(*), max(seq) from ops.audit_events").fetchone()
    assert mirrored == (len(trail), len(trail))
    con.close()

    published = home / "warehouse" / "published" / "cofre_marts.duckdb"
    with duckdb.connect(str(published), read_only=True) as marts:
        revenue = marts.execute("select sum(price + freight_value) from marts.fct_order_items").fetchone()[0]
    assert revenue > 0
    published_bytes = published.read_bytes()

    docs = cofre("docs", "--no-serve", home=home)
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (home / "dbt" / "target" / "index.html").is_file()
    assert "fct_orders" in (home / "dbt" / "target" / "catalog.json").read_text()

    # A delivery with an impossible row (a negative price parses, so it is loaded) fails the quality gates:
    # the run stops before publishing and readers keep exactly the previous marts.
    corrupted = tmp_path / "corrupted"
    shutil.copytree(home / "generated" / "olist_sf0.01_seed42", corrupted)
    items = corrupted / ORDER_ITEMS.file_name
    lines = items.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[1].rstrip("\n").split(",")
    fields[5] = "-10.00"
    lines[1] = ",".join(fields) + "\n"
    items.write_text("".join(lines), encoding="utf-8")
    second = cofre("run", "--olist-dir", str(corrupted), home=home)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "Run failed at step transform_silver" in second.stdout
    assert "price" in second.stdout and "quality gates failed" in second.stdout
    record = last_record(home)
    statuses = {s["name"]: s["status"] for s in record["steps"]}
    assert statuses["transform_silver"] == "failed"
    not_run = ("export_silver", "gold", "load_gold", "transform_marts", "publish_marts")
    assert {statuses[name] for name in not_run} == {"not run"}
    assert published.read_bytes() == published_bytes

    # --resume re-runs the last run from its first failed step (the input is still bad: it fails again).
    resumed = cofre("run", "--resume", home=home)
    assert resumed.returncode == 1
    assert "from step transform_silver" in resumed.stdout
    assert last_record(home)["steps"][0]["name"] == "transform_silver"
    assert published.read_bytes() == published_bytes
    con = duckdb.connect(str(home / "warehouse" / "cofre.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw_bcb.ipca").fetchone()[0] == 36  # incremental: no duplicates
    con.close()
    assert len(list((home / "lake" / "bronze" / "olist" / "_manifests").glob("*.json"))) == 2

    # Generated files are made once per (scale, seed) and reused.
    third = cofre("run", "--scale", "0.01", "--select", "prepare_olist", home=home)
    assert third.returncode == 0 and "reusing generated files" in third.stdout


def test_bad_folder_fails_with_a_clear_message_and_no_traceback(olist_small: Path, tmp_path: Path) -> None:
    folder = tmp_path / "olist"
    shutil.copytree(olist_small, folder)
    (folder / OLIST_TABLES[0].file_name).unlink()
    result = cofre("run", "--olist-dir", str(folder), "--select", "prepare_olist+", home=tmp_path / "state")
    assert result.returncode == 1
    assert f"{OLIST_TABLES[0].file_name}: file missing" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert last_record(tmp_path / "state")["steps"][1]["status"] == "not run"


def test_steps_lists_the_graph(tmp_path: Path) -> None:
    result = cofre("steps", home=tmp_path)
    assert result.returncode == 0
    assert "ingest_olist" in result.stdout and "after: prepare_olist" in result.stdout


def test_doctor_reports_each_check_and_fails_on_an_unreachable_warehouse(tmp_path: Path) -> None:
    ok = cofre("doctor", home=tmp_path)
    assert ok.returncode == 0, ok.stdout
    for check in ("python", "dbt-core", "java", "state directory", "warehouse (duckdb)"):
        assert check in ok.stdout
    env_port = {"COFRE_PG_PORT": "1"}
    bad = subprocess.run(
        [*COFRE, "doctor", "--target", "postgres"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COFRE_HOME": str(tmp_path), **env_port},
        check=False,
    )
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and "cannot reach postgres@127.0.0.1:1" in bad.stdout
