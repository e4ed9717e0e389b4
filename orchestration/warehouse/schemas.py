"""The warehouse's schemas by layer, named once (psycopg2- and duckdb-free, so a DAG file can import it)."""

from __future__ import annotations

SILVER_SCHEMA = "silver"
GOLD_SCHEMA = "gold"
PUBLISHED_SCHEMA = "marts"
"""What readers see: the star schema (on DuckDB, in the published file)."""
BUILD_SCHEMA = "marts_build"
"""On PostgreSQL the marts are built here, tested, and swapped into PUBLISHED_SCHEMA in one transaction."""
OPS_SCHEMA = "ops"


def marts_build_schema(target: str) -> str:
    """Where `dbt build` writes the marts: a private schema on PostgreSQL (published by a swap after the
    gates), the pipeline's own DuckDB file on DuckDB (published by copying the file)."""
    return BUILD_SCHEMA if target == "postgres" else PUBLISHED_SCHEMA
