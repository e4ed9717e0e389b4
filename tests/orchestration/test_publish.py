"""Write-audit-publish: publishing is atomic, and readers never hold the pipeline's file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg2
import pytest

from orchestration.warehouse.publish import publish_duckdb, publish_postgres
from tests.conftest import PG_HOST, PG_PORT, PG_USER


def build_marts(path: Path, revenue: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.fct_orders as select 1 as order_key, ? as revenue", [revenue]
        )
        con.execute("create or replace table marts.dim_date as select date '2017-01-01' as date_day")


def test_duckdb_publish_swaps_a_new_file_under_an_open_reader(tmp_path: Path) -> None:
    build, published = tmp_path / "build.duckdb", tmp_path / "published" / "cofre_marts.duckdb"
    build_marts(build, 100)
    assert publish_duckdb(build, published) == ["marts.dim_date", "marts.fct_orders"]

    reader = duckdb.connect(str(published), read_only=True)
    assert reader.execute("select revenue from marts.fct_orders").fetchone() == (100,)
    build_marts(build, 200)  # the pipeline's file stays writable while a reader holds the published one
    publish_duckdb(build, published)
    assert reader.execute("select revenue from marts.fct_orders").fetchone() == (100,)  # its snapshot
    reader.close()
    with duckdb.connect(str(published), read_only=True) as fresh:
        assert fresh.execute("select revenue from marts.fct_orders").fetchone() == (200,)
    assert [p.name for p in published.parent.iterdir()] == ["cofre_marts.duckdb"]  # no temporary file left


def test_duckdb_publish_refuses_an_empty_build(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "build.duckdb")).close()
    with pytest.raises(RuntimeError, match="nothing to publish"):
        publish_duckdb(tmp_path / "build.duckdb", tmp_path / "marts.duckdb")
    assert not (tmp_path / "marts.duckdb").exists()


@pytest.mark.integration
def test_postgres_publish_swaps_schemas(pg_database: str) -> None:
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=pg_database)
    try:
        for revenue in (100, 200):
            with con, con.cursor() as cursor:
                cursor.execute("create schema marts_build")
                cursor.execute("create table marts_build.fct_orders as select %s as revenue", (revenue,))
            publish_postgres(con)
            with con.cursor() as cursor:
                cursor.execute("select revenue from marts.fct_orders")
                assert cursor.fetchone() == (revenue,)
                cursor.execute(
                    "select schema_name from information_schema.schemata "
                    "where schema_name like 'marts%%' order by 1"
                )
                assert cursor.fetchall() == [("marts",)]
        with pytest.raises(RuntimeError, match="nothing to publish"):
            publish_postgres(con)
        with con.cursor() as cursor:
            cursor.execute("select revenue from marts.fct_orders")
            assert cursor.fetchone() == (200,)  # a failed publish leaves the published marts as they were
    finally:
        con.close()
