"""Read-only access to the published data: one query, written once, runs on DuckDB or PostgreSQL.

- DuckDB (embedded default): the published marts file is opened read-only, never the pipeline's own file
  (DuckDB allows one writer per file, and a reader holding it would block the next run). The operations
  file is attached read-only as `ops`, so queries say `ops.pipeline_runs` exactly as on PostgreSQL. Both
  files are replaced by atomic rename, so a connection lives for one query only, and cached results are
  keyed on the files' modification times: a new publish is visible at the next rerun.
- PostgreSQL: the login role `Settings.pg_reader_user`, which can SELECT marts, gold and ops and nothing
  else; its password (if the server needs one) is the vault entry `pg_reader_password`, read once per
  process and audited like every secret read, or the file `pg_reader_password_file` (the stack's
  dashboard holds that one Docker secret and no vault).

SQL names its parameters `:name`; `driver_sql` turns them into each driver's style, so every filter is a
bound parameter and never text pasted into SQL. Avoid `%` in SQL (psycopg2 reserves it) and `::` casts
(use `cast(x as type)`, which both engines read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
import streamlit as st

from dashboard import queries
from orchestration.settings import Settings, Target

Schema = Literal["marts", "gold", "ops"]
CACHE_TTL_S = 300
"""How long a result is reused. On DuckDB a new publish changes the cache key at once; on PostgreSQL (no
file to watch) this is how stale a page can be."""

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True)
class SourceKey:
    """Everything that identifies what a query reads, and nothing secret: the cache key of results."""

    target: Target
    marts_path: str
    marts_mtime_ns: int | None
    ops_path: str
    ops_mtime_ns: int | None
    pg: tuple[str, int, str, str]


class Reader:
    """Runs the dashboard's queries against the published data of `settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def key(self) -> SourceKey:
        s = self.settings
        return SourceKey(
            target=s.target,
            marts_path=str(s.published_path),
            marts_mtime_ns=_mtime_ns(s.published_path) if s.target == "duckdb" else None,
            ops_path=str(s.published_ops_path),
            ops_mtime_ns=_mtime_ns(s.published_ops_path) if s.target == "duckdb" else None,
            pg=(s.pg_host, s.pg_port, s.pg_database, s.pg_reader_user),
        )

    def tables(self) -> frozenset[tuple[str, str]]:
        """The readable tables as (schema, table); empty before the first publish."""
        key = self.key()
        if key.target == "duckdb" and key.marts_mtime_ns is None and key.ops_mtime_ns is None:
            return frozenset()
        sql = queries.TABLES_DUCKDB if key.target == "duckdb" else queries.TABLES_POSTGRES
        frame = _cached_frame(key, sql, (), self.settings)
        return frozenset(zip(frame["schema_name"], frame["table_name"], strict=True))

    def available(self, schema: Schema) -> bool:
        return any(found == schema for found, _ in self.tables())

    def has_table(self, schema: Schema, table: str) -> bool:
        return (schema, table) in self.tables()

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The result of `sql` with `params` bound, from cache while the published data is unchanged.
        Only the parameters the statement names are bound (DuckDB rejects extra ones), so a page can pass
        all its filters to every query."""
        given = params or {}
        bound = tuple((name, given[name]) for name in sorted(set(_PARAM.findall(sql))))
        return _cached_frame(self.key(), sql, bound, self.settings)


def driver_sql(sql: str, target: Target) -> str:
    """`:name` parameters in the driver's style: `$name` for DuckDB, `%(name)s` for psycopg2."""
    return _PARAM.sub(r"$\1" if target == "duckdb" else r"%(\1)s", sql)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=512)
def _cached_frame(
    key: SourceKey, sql: str, params: tuple[tuple[str, Any], ...], _settings: Settings
) -> pd.DataFrame:
    """Run one query on a fresh read-only connection. `_settings` is not part of the cache key (the
    leading underscore tells Streamlit so): `key` already says what is read."""
    bound = dict(params)
    if key.target == "duckdb":
        with closing(_connect_duckdb(key)) as con:
            return con.execute(driver_sql(sql, "duckdb"), bound).df()
    with closing(_connect_postgres(_settings)) as con, con.cursor() as cursor:
        cursor.execute(driver_sql(sql, "postgres"), bound)
        columns = [c.name for c in cursor.description or ()]
        return _numeric(pd.DataFrame(cursor.fetchall(), columns=columns))


def _connect_duckdb(key: SourceKey) -> duckdb.DuckDBPyConnection:
    """The published marts read-only (or, when only the ops file exists yet, that file), with the ops file
    attached read-only as `ops`; then the connection is closed to everything else: external access off (no
    ATTACH of another file such as the pipeline's warehouse, no read_csv/read_parquet/COPY, no extension
    loading) and the configuration locked, so no statement can turn it back on. The main database is a
    file opened read-only whenever one exists, so even a re-ATTACH of the ops file is read-only.
    Extensions are never downloaded."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if key.marts_mtime_ns is not None:
        path = key.marts_path
    elif key.ops_mtime_ns is not None:
        path = key.ops_path
    else:  # nothing published yet: an empty database that external access will not reach beyond
        path = ":memory:"
    con = duckdb.connect(path, read_only=path != ":memory:", config=config)
    try:
        if key.ops_mtime_ns is not None:
            con.execute(f"attach {_literal(key.ops_path)} as ops (read_only)")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _connect_postgres(settings: Settings) -> Any:
    """The reader role's session, over the TLS of `security.postgres_tls` (verify-full with the configured
    CA beyond loopback), read-only."""
    from security.postgres_tls import connect, connect_kwargs, postgres_tls

    tls = postgres_tls(settings.pg_host, sslmode=settings.pg_sslmode, sslrootcert=settings.pg_sslrootcert)
    con = connect(
        **connect_kwargs(
            tls,
            port=settings.pg_port,
            user=settings.pg_reader_user,
            dbname=settings.pg_database,
            password=_reader_password(str(settings.pg_reader_password_file or settings.vault_path), settings),
            connect_timeout=10,
        )
    )
    con.set_session(readonly=True, autocommit=True)
    return con


@st.cache_resource(show_spinner=False)
def _reader_password(source: str, _settings: Settings) -> str | None:
    """The reader role's password, read once per server process (keyed on where it comes from). From
    `pg_reader_password_file` when set: the stack gives the dashboard that one Docker secret and no
    vault, so this container can read nothing else. Otherwise from the vault, as every secret read is:
    a `secret.read` event in the audit trail, name only. None when neither holds it (a server that
    authenticates otherwise)."""
    from orchestration.services import open_audited
    from security.secret_names import PG_READER_PASSWORD

    if _settings.pg_reader_password_file is not None:
        return Path(source).read_text(encoding="utf-8").strip()
    if not Path(source).exists():
        return None
    vault, _ = open_audited(_settings, actor="dashboard")
    if PG_READER_PASSWORD not in vault:
        return None
    return str(vault.get(PG_READER_PASSWORD))


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """psycopg2 returns NUMERIC as Decimal; DuckDB's pandas export gives floats. Make both floats."""
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _mtime_ns(path: Path) -> int | None:
    try:
        return int(path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None


def _literal(text: str) -> str:
    """A SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"
