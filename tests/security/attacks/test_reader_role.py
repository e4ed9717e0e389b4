"""Attack: log in as the dashboard's and Grafana's read-only role and try to reach beyond the published data.

A real reader session on the local PostgreSQL (127.0.0.1:5432). Before cofre's grants, PostgreSQL's
defaults let any role create temporary tables, connect to any database and use the `public` schema (shown
here first, so the test proves it closes something). After `ensure_reader_role` (and in a database
`Warehouse.ensure_postgres_database` created), the reader can read the marts and nothing else: no temporary
table, no other cofre database, no data and no information_schema entry of raw, staging or silver.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import errors

from orchestration.settings import Settings
from orchestration.warehouse.connection import Warehouse
from security.reader_access import ensure_reader_role, grant_schema_read

pytestmark = pytest.mark.integration

PG = {"host": "127.0.0.1", "port": 5432}
FORBIDDEN = ("raw_olist", "staging", "silver", "public")


def _connect(dbname: str, user: str = "postgres", **kwargs: Any) -> Any:
    con = psycopg2.connect(dbname=dbname, user=user, connect_timeout=10, **PG, **kwargs)
    con.autocommit = True
    return con


@pytest.fixture
def reader() -> Iterator[str]:
    """A fresh reader role name; request it before the databases, so they are dropped first."""
    role = f"cofre_reader_{secrets.token_hex(4)}"
    yield role
    with closing(_connect("postgres")) as admin, admin.cursor() as cursor:
        cursor.execute("select datname from pg_database where datacl::text like %s", (f"%{role}=%",))
        for (database,) in cursor.fetchall():
            cursor.execute(f'revoke all on database "{database}" from "{role}"')
        cursor.execute(f'drop role if exists "{role}"')


@pytest.fixture
def cofre_database(tmp_path: Path) -> Iterator[Warehouse]:
    """Another cofre warehouse database, created the way the pipeline creates its own."""
    warehouse = Warehouse(
        Settings(home=tmp_path, target="postgres", pg_database=f"cofre_other_{secrets.token_hex(4)}")
    )
    warehouse.ensure_postgres_database()
    yield warehouse
    with closing(_connect("postgres")) as admin, admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{warehouse.settings.pg_database}" with (force)')


def _build_layers(dbname: str) -> None:
    with closing(_connect(dbname)) as con, con.cursor() as cursor:
        for schema in ("raw_olist", "staging", "silver", "marts"):
            cursor.execute(f"create schema {schema}")
        cursor.execute("create table raw_olist.customers (customer_id text, customer_zip_code_prefix text)")
        cursor.execute("create table staging.stg_customers (customer_id text, customer_city text)")
        cursor.execute("create table silver.customers (customer_token text, zip_prefix text)")
        cursor.execute("create table public.scratch (note text)")
        cursor.execute("create table marts.dim_customer (customer_token text, state_code text)")
        cursor.execute("insert into silver.customers values ('tok', '010')")
        cursor.execute("insert into marts.dim_customer values ('tok', 'SP')")


def _reader_can(dbname: str, role: str, sql: str) -> bool:
    with closing(_connect(dbname, role)) as con, con.cursor() as cursor:
        try:
            cursor.execute(sql)
        except (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction):
            return False
        return True


def _columns(dbname: str, role: str, schemas: tuple[str, ...]) -> list[tuple[str, str, str]]:
    with closing(_connect(dbname, role)) as con, con.cursor() as cursor:
        cursor.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema = any(%s) order by 1, 2, 3",
            (list(schemas),),
        )
        return list(cursor.fetchall())


def test_reader_role_reaches_nothing_but_its_grants(
    reader: str, pg_database: str, cofre_database: Warehouse
) -> None:
    _build_layers(pg_database)
    # The attack on PostgreSQL's defaults, before cofre's grants: any login can do all of this.
    with closing(_connect(pg_database)) as con, con.cursor() as cursor:
        cursor.execute(f'create role "{reader}" login')
    assert _reader_can(pg_database, reader, "create temp table loot (a int)")
    assert _reader_can("postgres", reader, "select 1")  # a database cofre does not own: left as it is
    assert _reader_can(pg_database, reader, "select has_schema_privilege('public', 'usage')")

    # cofre's reader: the role reset to read-only, the database closed to PUBLIC, marts granted.
    with closing(_connect(pg_database)) as con:
        con.autocommit = False
        with con, con.cursor() as cursor:
            ensure_reader_role(cursor, reader, None)
            grant_schema_read(cursor, reader, "marts")

    # Temporary tables: refused even after the session turns read-only off (anyone may SET it).
    with closing(_connect(pg_database, reader)) as con, con.cursor() as cursor:
        cursor.execute("set default_transaction_read_only = off")
        with pytest.raises(errors.InsufficientPrivilege, match="temporary tables"):
            cursor.execute("create temp table loot (a int)")
    # Another cofre database (created by Warehouse.ensure_postgres_database): no CONNECT for PUBLIC.
    with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
        _connect(cofre_database.settings.pg_database, reader)
    # Forbidden layers: no data, no USAGE, no entry in information_schema.
    for schema, table in (("raw_olist", "customers"), ("staging", "stg_customers"), ("silver", "customers")):
        assert not _reader_can(pg_database, reader, f"select * from {schema}.{table}")
    assert not _reader_can(pg_database, reader, "select * from public.scratch")
    assert not _reader_can(pg_database, reader, "create table public.planted (a int)")
    assert _columns(pg_database, reader, FORBIDDEN) == []
    with closing(_connect(pg_database, reader)) as con, con.cursor() as cursor:
        cursor.execute(
            "select schema_name from information_schema.schemata where schema_name = any(%s)",
            (list(FORBIDDEN),),
        )
        assert cursor.fetchall() == []
        cursor.execute(
            "select has_schema_privilege('public', 'usage'), "
            "has_database_privilege(current_database(), 'temp')"
        )
        assert cursor.fetchone() == (False, False)
        # What it is granted still works.
        cursor.execute("select state_code from marts.dim_customer")
        assert cursor.fetchall() == [("SP",)]
    assert _columns(pg_database, reader, ("marts",)) == [
        ("marts", "dim_customer", "customer_token"),
        ("marts", "dim_customer", "state_code"),
    ]
    # The pipeline's own role keeps what dbt needs.
    with closing(_connect(pg_database)) as con, con.cursor() as cursor:
        cursor.execute("create temp table work (a int)")


def test_pg_catalog_still_names_forbidden_columns_but_gives_no_data(reader: str, pg_database: str) -> None:
    """The limit PostgreSQL sets (docs/security.md): pg_catalog is readable by every role that can
    connect, so names of tables and columns stay visible there; their data does not."""
    _build_layers(pg_database)
    with closing(_connect(pg_database)) as con:
        con.autocommit = False
        with con, con.cursor() as cursor:
            ensure_reader_role(cursor, reader, None)
    with closing(_connect(pg_database, reader)) as con, con.cursor() as cursor:
        cursor.execute(
            "select n.nspname, a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'silver' and a.attnum > 0"
        )
        assert sorted(cursor.fetchall()) == [("silver", "customer_token"), ("silver", "zip_prefix")]
    assert not _reader_can(pg_database, reader, "select * from silver.customers")
