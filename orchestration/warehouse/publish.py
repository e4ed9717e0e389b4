"""Write, audit, publish: make freshly built and tested marts visible to readers in one atomic step.

The marts are built where no consumer reads them and every quality gate runs there; only then does this
module publish them. A failed gate means publish never runs, so readers keep the previous marts exactly.

- DuckDB allows one writing process per file, and a reader holding the pipeline's file would block the
  pipeline. Readers therefore open a separate published file, read-only; it is rebuilt beside the old one
  and swapped in with an atomic rename (a reader that still has the old file open keeps reading it).
- PostgreSQL builds the marts in a separate schema; publishing renames schemas in one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection
from psycopg2.extensions import cursor as PgCursor

from orchestration.warehouse.schemas import BUILD_SCHEMA, PUBLISHED_SCHEMA

_PREVIOUS_SCHEMA = "marts_previous"


def publish_duckdb(
    build_path: Path, published_path: Path, schemas: tuple[str, ...] = (PUBLISHED_SCHEMA,)
) -> list[str]:
    """Copy every table of `schemas` from the build file into a new published file, then rename it into
    place. Returns the tables published as `schema.table`; the first schema must not be empty."""

    def copy(con: duckdb.DuckDBPyConnection) -> list[str]:
        found = _tables(con, schemas)
        if not any(schema == schemas[0] for schema, _ in found):
            raise RuntimeError(f"nothing to publish: {build_path} has no tables in schema {schemas[0]!r}")
        for schema in sorted({schema for schema, _ in found}):
            con.execute(f'create schema "{schema}"')
        for schema, table in found:
            con.execute(f'create table "{schema}"."{table}" as select * from build."{schema}"."{table}"')
        return [f"{schema}.{table}" for schema, table in found]

    return _publish_file(build_path, published_path, copy)


def publish_duckdb_flat(
    build_path: Path, published_path: Path, schema: str, tables: tuple[str, ...]
) -> list[str]:
    """Publish the `tables` of one `schema` into the main schema of their own file (those missing in the
    build file are skipped). Readers attach it under the schema's name, so `ops.pipeline_runs` reads the
    same on DuckDB as on PostgreSQL."""

    def copy(con: duckdb.DuckDBPyConnection) -> list[str]:
        present = {table for _, table in _tables(con, (schema,))}
        for table in (t for t in tables if t in present):
            con.execute(f'create table main."{table}" as select * from build."{schema}"."{table}"')
        return [t for t in tables if t in present]

    return _publish_file(build_path, published_path, copy)


def _publish_file(
    build_path: Path, published_path: Path, copy: Callable[[duckdb.DuckDBPyConnection], list[str]]
) -> list[str]:
    """Build a new file beside `published_path` with `copy` (the build file attached read-only as
    `build`), make it durable, and rename it into place: readers see the old file or the new, whole."""
    published_path.parent.mkdir(parents=True, exist_ok=True)
    staged = staged_path(published_path, os.getpid())
    _remove_staged(staged)
    try:
        with duckdb.connect(str(staged)) as con:
            con.execute(f"attach {_sql_string(str(build_path))} as build (read_only)")
            published = copy(con)
            con.execute("detach build")
    except BaseException:
        _remove_staged(staged)
        raise
    _fsync(staged)
    os.replace(staged, published_path)
    _fsync(published_path.parent)
    return published


STAGED_PATTERN = r"^\.(?P<name>.+\.duckdb)\.(?P<pid>\d+)\.tmp(\.wal)?$"
"""The files a publish by process `pid` stages beside the published one (the database and its WAL); a
kill leaves them, and the next run removes those of dead pids (orchestration.leftovers)."""


def staged_path(published_path: Path, pid: int) -> Path:
    return published_path.with_name(f".{published_path.name}.{pid}.tmp")


def _remove_staged(staged: Path) -> None:
    staged.unlink(missing_ok=True)
    staged.with_name(staged.name + ".wal").unlink(missing_ok=True)


def _tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (str(schema), str(table))
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'build' "
            "and table_schema in (select unnest(?)) and table_type = 'BASE TABLE' order by 1, 2",
            [list(schemas)],
        ).fetchall()
    ]


def publish_postgres(
    con: PgConnection,
    build: str = BUILD_SCHEMA,
    published: str = PUBLISHED_SCHEMA,
    *,
    readers: Callable[[PgCursor], None] | None = None,
) -> None:
    """Swap `build` in as `published` in one transaction: readers see the old marts or the new. `readers`
    grants read access on the new schema inside that transaction, so no reader ever loses it."""
    previous = sql.Identifier(_PREVIOUS_SCHEMA)
    with con, con.cursor() as cursor:
        if not _schema_exists(cursor, build):
            raise RuntimeError(f"nothing to publish: schema {build!r} does not exist")
        cursor.execute(sql.SQL("drop schema if exists {} cascade").format(previous))
        if _schema_exists(cursor, published):
            cursor.execute(
                sql.SQL("alter schema {} rename to {}").format(sql.Identifier(published), previous)
            )
        cursor.execute(
            sql.SQL("alter schema {} rename to {}").format(sql.Identifier(build), sql.Identifier(published))
        )
        cursor.execute(sql.SQL("drop schema if exists {} cascade").format(previous))
        if readers is not None:
            readers(cursor)


def duckdb_row_counts(path: Path, schemas: tuple[str, ...] = (PUBLISHED_SCHEMA,)) -> dict[str, int]:
    """Rows per table (`schema.table`) of `schemas` in a DuckDB file, opened read-only as readers do."""
    with duckdb.connect(str(path), read_only=True) as con:
        found = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) order by 1, 2",
            [list(schemas)],
        ).fetchall()
        return {
            f"{schema}.{table}": int(
                con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
            )
            for schema, table in found
        }


def postgres_row_counts(con: PgConnection, schema: str = PUBLISHED_SCHEMA) -> dict[str, int]:
    with con, con.cursor() as cursor:
        cursor.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,)
        )
        tables = [r[0] for r in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(
                sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
            counts[table] = int(cursor.fetchone()[0])
        return counts


def _schema_exists(cursor: PgCursor, name: str) -> bool:
    cursor.execute("select 1 from information_schema.schemata where schema_name = %s", (name,))
    return cursor.fetchone() is not None


def _sql_string(text: str) -> str:
    """A SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
