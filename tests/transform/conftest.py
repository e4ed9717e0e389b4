"""Fixtures of the dbt tests: a warehouse loaded by the real ingestion CLI, then built by dbt.

Each fixture is session-scoped (per xdist worker); with `--dist loadfile` the DuckDB and the
PostgreSQL modules run on different workers, so each worker ingests and builds once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.services import open_vault
from orchestration.settings import Settings
from orchestration.warehouse.dbt import DbtRun, run_dbt
from security.vault import Vault

REPO = Path(__file__).resolve().parents[2]
SCALE = "0.01"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@dataclass(frozen=True)
class Built:
    settings: Settings
    vault: Vault
    run: DbtRun
    lines: list[str]


def ingest(home: Path, *, target: str = "duckdb", pg_database: str | None = None) -> Settings:
    """Load raw tables with the real CLI (`python -m orchestration ingest`), as a user would."""
    env = {**os.environ, "COFRE_HOME": str(home)}
    args = [sys.executable, "-m", "orchestration", "ingest", "--scale", SCALE]
    if target == "postgres":
        args += ["--target", "postgres"]
        env["COFRE_PG_DATABASE"] = pg_database or ""
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if target == "postgres":
        return Settings(home=home, target="postgres", pg_database=pg_database or "")
    return Settings(home=home)


def build(settings: Settings, args: list[str] | None = None) -> Built:
    vault = open_vault(settings)
    lines: list[str] = []
    run = run_dbt(args or ["build"], settings, vault, on_line=lines.append)
    return Built(settings, vault, run, lines)


def pg_admin():
    import psycopg2

    connection = psycopg2.connect(dbname="postgres", **PG)
    connection.autocommit = True
    return connection


@pytest.fixture(scope="session")
def pg_session_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the session (the root conftest's `pg_database` is per test)."""
    name = f"cofre_dbt_{uuid.uuid4().hex[:10]}"
    admin = pg_admin()
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(scope="session")
def duckdb_raw(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return ingest(tmp_path_factory.mktemp("cofre-duckdb") / "home")


@pytest.fixture(scope="session")
def duckdb_built(duckdb_raw: Settings) -> Built:
    return build(duckdb_raw)


@pytest.fixture(scope="session")
def postgres_built(tmp_path_factory: pytest.TempPathFactory, pg_session_database: str) -> Built:
    settings = ingest(
        tmp_path_factory.mktemp("cofre-pg") / "home", target="postgres", pg_database=pg_session_database
    )
    return build(settings)


def copy_home(settings: Settings, destination: Path) -> Settings:
    """A copy of a state directory (vault, raw warehouse) to corrupt without touching the original."""
    shutil.copytree(settings.home, destination, ignore=shutil.ignore_patterns("*.lock", "dbt"))
    return Settings(home=destination)
