"""Shared fixtures: an isolated process environment, generated Olist data, a fresh PostgreSQL database."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# dlt imports Airflow when it is installed, and Airflow creates AIRFLOW_HOME (~/airflow by default) on
# import: point it at a throw-away folder before any test module imports dlt.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="cofre-test-airflow-")
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PROVIDERS__ENABLE_AIRFLOW_SECRETS"] = "false"  # credentials come from the cofre vault
os.environ.pop("COFRE_VAULT_KEY", None)  # tests make their own keys
os.environ.pop("COFRE_VAULT_KEY_FILE", None)
# Key files and state anchors live outside the state directory, per user (security/state.py): tests keep
# theirs in a throw-away config home, never in the real ~/.config.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="cofre-test-config-")
os.environ.pop("COFRE_HOME", None)
# PostgreSQL roles belong to the whole server, not to a test's database: each xdist worker gets its own
# reader role, so two workers publishing at once never alter the same role (`tuple concurrently updated`).
os.environ["COFRE_PG_READER_USER"] = f"cofre_reader_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"

# py4j logs "Closing down clientserver connection" at INFO from __del__ during interpreter shutdown, after
# pytest has closed the captured stream ("--- Logging error ---" noise in the CI log).
logging.getLogger("py4j").setLevel(logging.WARNING)

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


@pytest.fixture(scope="session")
def olist_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Olist-shaped files at scale 0.01 (about a thousand orders), generated once per test session."""
    from ingestion.olist_generator import generate_olist

    folder = tmp_path_factory.mktemp("olist") / "sf0.01"
    generate_olist(folder, scale=0.01, seed=7)
    return folder


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on 127.0.0.1, dropped afterwards."""
    import psycopg2

    name = f"cofre_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
