"""Attack: from inside the dashboard's DuckDB connection (a query the dashboard runs, or SQL smuggled into
one), reach the pipeline's warehouse (unmasked raw and staging) or any file of the machine.

The dashboard opens the published files read-only, then turns external access off and locks the
configuration (dashboard/data.py `_connect_duckdb`). The same statements succeed in a plain connection,
so the test proves the connection is what stops them.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from dashboard.data import Reader
from orchestration.settings import Settings


def _database(path: Path, sql: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(sql)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "state")
    _database(
        settings.warehouse_path,
        "create schema raw_olist; create table raw_olist.customers as "
        "select 'Maria da Silva' as customer_name",
    )
    _database(
        settings.published_path,
        "create schema marts; create table marts.dim_state as select 'SP' as state_code",
    )
    _database(settings.published_ops_path, "create table pipeline_runs as select 'ok' as status")
    (tmp_path / "secrets.csv").write_text("name,value\npg_password,hunter2\n")
    return settings


def _attacks(settings: Settings, tmp_path: Path) -> dict[str, str]:
    ops = str(settings.published_ops_path)
    return {
        "attach the pipeline warehouse": f"attach '{settings.warehouse_path}' as w (read_only)",
        "read a CSV file": f"select * from read_csv('{tmp_path / 'secrets.csv'}')",
        "read any file": "select * from read_text('/etc/hostname')",
        "list files": f"select * from glob('{tmp_path}/*')",
        "write a file": f"copy (select 1) to '{tmp_path / 'out.csv'}'",
        "turn external access back on": "set enable_external_access = true",
        "unlock the configuration": "set lock_configuration = false",
        "re-attach the ops file writable and write to it": (
            f"attach '{ops}' as ops2; create table ops2.planted (a int)"
        ),
    }


def test_plain_connection_allows_every_attack(settings: Settings, tmp_path: Path) -> None:
    """The control: DuckDB's defaults let a connection do all of it (the writes on a copy)."""
    with duckdb.connect() as con:
        for name, sql in _attacks(settings, tmp_path).items():
            if sql.startswith("set ") or "ops2" in sql:
                continue  # nothing to re-enable there; the last one would write into the published ops file
            con.execute(sql)
            print("allowed:", name)


def test_dashboard_connection_refuses_files_other_databases_and_reconfiguration(
    settings: Settings, tmp_path: Path
) -> None:
    reader = Reader(settings)
    assert reader.has_table("marts", "dim_state") and reader.has_table("ops", "pipeline_runs")
    assert reader.frame("select state_code from marts.dim_state")["state_code"].tolist() == ["SP"]
    assert reader.frame("select status from ops.pipeline_runs")["status"].tolist() == ["ok"]
    for name, sql in _attacks(settings, tmp_path).items():
        with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException)) as refused:
            reader.frame(sql)
        assert re.search(
            r"disabled by configuration|configuration has been locked|read-only mode", str(refused.value)
        ), name
    assert not (tmp_path / "out.csv").exists()
    with duckdb.connect(str(settings.published_ops_path), read_only=True) as con:
        assert con.execute(
            "select count(*) from duckdb_tables() where table_name = 'planted'"
        ).fetchone() == (0,)


def test_ops_file_alone_is_opened_read_only_too(settings: Settings, tmp_path: Path) -> None:
    """Before the first publish of the marts only the ops file exists: the main database is that file,
    read-only, so a re-ATTACH of it cannot write either."""
    settings.published_path.unlink()
    reader = Reader(settings)
    assert reader.frame("select status from ops.pipeline_runs")["status"].tolist() == ["ok"]
    for sql in _attacks(settings, tmp_path).values():
        with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException)):
            reader.frame(sql)
