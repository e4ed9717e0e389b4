"""ops tables and the readers' access to them: DuckDB's published ops file, PostgreSQL's reader role."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path

import duckdb
import psycopg2
import pytest
from psycopg2 import errors, sql

from orchestration.graph import StepResult, TableCount
from orchestration.runner import RunRecord, StepRun
from orchestration.services import Services, build_services
from orchestration.settings import Settings
from orchestration.warehouse.ops import record_run
from orchestration.warehouse.publish import publish_postgres
from security.reader_access import scram_sha256_verifier
from tests.conftest import PG_HOST, PG_PORT, PG_USER

pytestmark = pytest.mark.integration


def run_record(run_id: str, ingest_status: str) -> RunRecord:
    result = StepResult(counts=[TableCount("raw", "orders", 7)])
    return RunRecord(
        run_id=run_id,
        started_at="2026-11-27T10:00:00+00:00",
        finished_at="2026-11-27T10:01:00+00:00",
        status="failed" if ingest_status == "failed" else "succeeded",
        steps=[
            StepRun("prepare_olist", "succeeded", 1.0, result),
            StepRun("ingest_olist", ingest_status, 2.0, error="boom" if ingest_status == "failed" else None),
        ],
    )


def read_ops(path: Path, query: str) -> list[tuple[object, ...]]:
    """Read the published ops file the way the dashboard does: attached read-only as `ops`."""
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as ops (read_only)")
        return con.execute(query).fetchall()


def test_every_run_is_published_to_the_ops_file_with_a_verified_trail(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "state")
    services = build_services(settings)
    services.audit.record("run.start", target="r1")

    record_run(settings, services, run_record("r1", "failed"))
    path = settings.published_ops_path
    assert read_ops(path, "select step, step_status, error from ops.pipeline_runs order by position") == [
        ("prepare_olist", "succeeded", None),
        ("ingest_olist", "failed", "boom"),
    ]
    events = sum(1 for _ in services.audit.events())
    assert read_ops(path, "select count(*), max(seq) from ops.audit_events") == [(events, events)]
    assert read_ops(path, "select run_id, ok, events, reason from ops.audit_checks") == [
        ("r1", True, events, None)
    ]

    # The same run again (resumed to success) is merged, not duplicated; the file is replaced whole.
    record_run(settings, services, run_record("r1", "succeeded"))
    assert read_ops(path, "select step_status from ops.pipeline_runs order by position") == [
        ("succeeded",),
        ("succeeded",),
    ]
    assert not list(path.parent.glob(".*.tmp"))


def test_a_tampered_trail_is_reported_in_audit_checks(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "state")
    services = build_services(settings)
    for n in range(3):
        services.audit.record("lake.write", target=f"bronze/{n}")
    lines = settings.audit_path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("bronze/", "bronzE/")
    settings.audit_path.write_text("".join(lines), encoding="utf-8")

    record_run(settings, services, run_record("r2", "succeeded"))
    [(ok, reason)] = read_ops(settings.published_ops_path, "select ok, reason from ops.audit_checks")
    assert ok is False and "edited" in reason


def stored_verifier(dbname: str, role: str) -> str:
    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    with closing(connection) as con, con.cursor() as cursor:
        cursor.execute("select rolpassword from pg_authid where rolname = %s", (role,))
        return str(cursor.fetchone()[0])


def recomputed(stored: str, password: str) -> str:
    """Our verifier of `password` with the salt and iteration count PostgreSQL chose for `stored`."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$.+", stored)
    assert match, stored
    return scram_sha256_verifier(password, salt=base64.b64decode(match[2]), iterations=int(match[1]))


def test_scram_verifier_matches_postgresql(pg_database: str) -> None:
    """PostgreSQL hashes a password itself; recomputing with its salt and iterations gives its verifier."""
    role = f"cofre_scram_{uuid.uuid4().hex[:8]}"
    password = f"{secrets.token_urlsafe(12)} {secrets.token_hex(4)}"  # made here, a space included
    with closing(psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=pg_database)) as con:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute("set password_encryption = 'scram-sha-256'")
            cursor.execute(sql.SQL("create role {} password %s").format(sql.Identifier(role)), (password,))
            try:
                stored = stored_verifier(pg_database, role)
            finally:
                cursor.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
    assert recomputed(stored, password) == stored
    assert recomputed(stored, password + "x") != stored
    with pytest.raises(ValueError, match="ASCII"):
        scram_sha256_verifier(f"{secrets.token_hex(4)}ä")


@pytest.fixture
def pg_services(tmp_path: Path, pg_database: str) -> Iterator[tuple[Settings, Services]]:
    settings = Settings(home=tmp_path / "state", target="postgres", pg_database=pg_database)
    yield settings, build_services(settings)


def reader(settings: Settings) -> psycopg2.extensions.connection:
    return psycopg2.connect(
        host=PG_HOST, port=PG_PORT, user=settings.pg_reader_user, dbname=settings.pg_database
    )


def test_reader_role_reads_marts_gold_and_ops_and_nothing_else(
    pg_services: tuple[Settings, Services],
) -> None:
    settings, services = pg_services
    with closing(services.warehouse.connect_postgres()) as con, con, con.cursor() as cursor:
        for schema in ("raw_olist", "staging", "silver", "gold", "marts_build"):
            cursor.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
            cursor.execute(sql.SQL("create table {}.t as select 1 as x").format(sql.Identifier(schema)))
    with closing(services.warehouse.connect_postgres()) as con:
        publish_postgres(con, readers=partial(services.grant_reader, grants={"marts": None, "gold": None}))
    record_run(settings, services, run_record("r1", "succeeded"))

    with closing(reader(settings)) as con:
        con.autocommit = True
        with con.cursor() as cursor:
            for table in ("marts.t", "gold.t", "ops.pipeline_runs", "ops.audit_events", "ops.audit_checks"):
                cursor.execute(f"select count(*) from {table}")
                assert cursor.fetchone()[0] > 0, table
            for table in ("raw_olist.t", "staging.t", "silver.t", "ops._dlt_loads"):
                with pytest.raises(errors.InsufficientPrivilege):
                    cursor.execute(f"select * from {table}")
            with pytest.raises(errors.ReadOnlySqlTransaction):
                cursor.execute("create temporary table scratch (x int)")
    granted = [e for e in services.audit.events() if e["action"] == "warehouse.grant"]
    assert {e["target"].rsplit("#", 1)[1] for e in granted} == {"marts", "gold", "ops"}


def test_reader_password_is_set_from_the_vault_as_a_verifier(pg_services: tuple[Settings, Services]) -> None:
    settings, services = pg_services
    record_run(settings, services, run_record("r1", "succeeded"))
    stored = stored_verifier(settings.pg_database, settings.pg_reader_user)
    assert recomputed(stored, services.vault.get("pg_reader_password")) == stored
