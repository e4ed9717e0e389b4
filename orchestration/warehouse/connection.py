"""The warehouse of a run, for the code that talks to it directly (dlt loads, publish, the ops tables):
the embedded DuckDB file or a PostgreSQL database, and how to reach it. Never holds more than the
password it was given; `describe()` is what people may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestration.settings import Settings

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

    def connect_postgres(self) -> PgConnection:
        import psycopg2

        s = self.settings
        return psycopg2.connect(
            host=s.pg_host,
            port=s.pg_port,
            user=s.pg_user,
            password=self.password or None,
            dbname=s.pg_database,
            connect_timeout=10,
        )

    def ensure_postgres_database(self) -> None:
        """Create the warehouse database on first use, as the embedded default creates its DuckDB file."""
        import psycopg2
        from psycopg2 import sql

        s = self.settings
        admin = psycopg2.connect(
            host=s.pg_host,
            port=s.pg_port,
            user=s.pg_user,
            password=self.password,
            dbname="postgres",
            connect_timeout=10,
        )
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (s.pg_database,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("create database {}").format(sql.Identifier(s.pg_database)))
        finally:
            admin.close()

    def postgres_credentials(self) -> dict[str, Any]:
        s = self.settings
        return {
            "drivername": "postgresql",
            "host": s.pg_host,
            "port": s.pg_port,
            "username": s.pg_user,
            "password": self.password,
            "database": s.pg_database,
        }

    def describe(self) -> str:
        """Where the warehouse is, for people: never includes a password."""
        if self.target == "duckdb":
            return str(self.settings.warehouse_path)
        s = self.settings
        return f"postgresql://{s.pg_user}@{s.pg_host}:{s.pg_port}/{s.pg_database}"
