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

from ingestion.olist_schema import OLIST_TABLES, ORDER_PAYMENTS

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
    con.close()

    # A second run reuses the generated files, appends a new bronze load and replaces raw: same counts.
    second = cofre("run", "--scale", "0.01", home=home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reusing generated files" in second.stdout
    con = duckdb.connect(str(home / "warehouse" / "cofre.duckdb"), read_only=True)
    assert (
        con.execute("select count(*) from raw_olist.order_payments").fetchone()[0]
        == expected[ORDER_PAYMENTS.table]
    )
    assert con.execute("select count(*) from raw_bcb.ipca").fetchone()[0] == 36  # incremental: no duplicates
    assert len(list((home / "lake" / "bronze" / "olist" / "_manifests").glob("*.json"))) == 2


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
