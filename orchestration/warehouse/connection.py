"""The warehouse of a run, for the code that talks to it directly (dlt loads, publish, the ops tables):
the embedded DuckDB file or a PostgreSQL database, and how to reach it. Never holds more than the
password it was given; `describe()` is what people may see. Every PostgreSQL connection made here (psycopg2
and dlt's) carries the TLS of `security.postgres_tls`: verify-full with the configured CA beyond loopback."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestration.settings import Settings
from security.postgres_tls import PostgresTls, connect, connect_kwargs, postgres_tls

if TYPE_CHECKING:  # dlt and psycopg2 are imported where they are used, after the process is prepared
    from dlt.common.destination import Destination
    from psycopg2.extensions import connection as PgConnection


@dataclass(frozen=True)
class Warehouse:
    """Where raw, staging, marts live: the embedded DuckDB file or a PostgreSQL database."""

    settings: Settings
    password: str = ""  # empty: the server authenticates otherwise (trust, peer, certificates)

    @property
    def target(self) -> str:
        return self.settings.target

    def dlt_destination(self) -> Destination:
        import dlt

        if self.target == "duckdb":
            self.settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(str(self.settings.warehouse_path))
        self.ensure_postgres_database()
        return dlt.destinations.postgres(credentials=self.postgres_credentials())

    @property
    def tls(self) -> PostgresTls:
        """TLS to the PostgreSQL server (COFRE_PG_SSLMODE, COFRE_PG_SSLROOTCERT), checked against cofre's
        policy before anything is sent: `PostgresTlsNotConfigured` when it would be unprotected."""
        s = self.settings
        return postgres_tls(s.pg_host, sslmode=s.pg_sslmode, sslrootcert=s.pg_sslrootcert)

    def connect_kwargs(self, dbname: str | None = None) -> dict[str, Any]:
        """`psycopg2.connect` arguments for the pipeline's login to `dbname` (the warehouse by default)."""
        s = self.settings
        return connect_kwargs(
            self.tls,
            port=s.pg_port,
            user=s.pg_user,
            dbname=dbname or s.pg_database,
            password=self.password or None,
            connect_timeout=10,
        )

    def connect_postgres(self) -> PgConnection:
        return connect(**self.connect_kwargs())

    def ensure_postgres_database(self) -> None:
        """Create the warehouse database on first use, as the embedded default creates its DuckDB file, and
        close it to everyone but cofre's roles from the start (`security.reader_access.restrict_database`)."""
        from psycopg2 import sql

        from security.reader_access import restrict_database

        s = self.settings
        admin = connect(**self.connect_kwargs("postgres"))
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (s.pg_database,))
                if cursor.fetchone() is not None:
                    return
                cursor.execute(sql.SQL("create database {}").format(sql.Identifier(s.pg_database)))
        finally:
            admin.close()
        with closing(self.connect_postgres()) as con, con, con.cursor() as cursor:
            restrict_database(cursor)

    def postgres_credentials(self) -> dict[str, Any]:
        """dlt's credentials: the same TLS parameters travel in the connection URL's query."""
        s = self.settings
        return {
            "drivername": "postgresql",
            "host": s.pg_host,
            "port": s.pg_port,
            "username": s.pg_user,
            "password": self.password,
            "database": s.pg_database,
            "query": self.tls.libpq(),
        }

    def dbt_tls_env(self) -> dict[str, str]:
        """The TLS variables transform/profiles.yml's postgres output reads (non-secret)."""
        return self.tls.dbt_env()

    def describe(self) -> str:
        """Where the warehouse is, for people: never includes a password."""
        if self.target == "duckdb":
            return str(self.settings.warehouse_path)
        s = self.settings
        return f"postgresql://{s.pg_user}@{s.pg_host}:{s.pg_port}/{s.pg_database}"
