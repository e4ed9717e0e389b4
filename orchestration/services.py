"""The resolved services a run hands to its steps: the lake, the warehouse and the security core.

Built once at the edge from Settings; steps receive them ready to use and never build connections from
configuration on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dlt
from dlt.common.destination import Destination

from ingestion.lake import Lake
from orchestration.settings import Settings


@dataclass(frozen=True)
class Warehouse:
    """Where raw, staging, marts live: the embedded DuckDB file or a PostgreSQL database."""

    settings: Settings
    password: str | None = None

    @property
    def target(self) -> str:
        return self.settings.target

    def dlt_destination(self) -> Destination:
        if self.target == "duckdb":
            self.settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(str(self.settings.warehouse_path))
        self.ensure_postgres_database()
        return dlt.destinations.postgres(credentials=self.postgres_credentials())

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


@dataclass(frozen=True)
class Services:
    lake: Lake
    warehouse: Warehouse
    vault: Any = None
    audit: Any = None


def build_services(settings: Settings) -> Services:
    return Services(lake=Lake(settings.lake_dir), warehouse=Warehouse(settings))
