"""Grafana's provisioning files: they parse, the datasource logs in as the read-only role without a
password in the file, every dashboard panel and alert names that datasource, and every query of a panel
or an alert runs against a real PostgreSQL warehouse (one `cofre run --target postgres`) as that role.

Grafana itself cannot run here. Its SQL macros are replaced by plain SQL with the same meaning (the table
in `MACROS` below), for a dashboard time range of the last 7 days.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestration.settings import Settings
from tests.conftest import PG_HOST, PG_PORT, PG_USER

GRAFANA = Path(__file__).parents[1] / "grafana"
PROVISIONING = GRAFANA / "provisioning"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCE_UID = "cofre-warehouse"
EXPRESSION_UID = "__expr__"  # Grafana's server-side expressions (thresholds) in alert rules
RANGE = "interval '7 days'"  # the dashboards' default time range, now-7d to now

# -- Grafana's PostgreSQL macros as plain SQL ---------------------------------------------------------
#
# | macro in a panel                | plain SQL the test runs                                            |
# |---------------------------------|--------------------------------------------------------------------|
# | $__timeFilter(col)              | col between now() - interval '7 days' and now()                    |
# | $__timeFrom() / $__timeTo()     | now() - interval '7 days' / now()                                  |
# | $__timeGroup(col, iv)           | to_timestamp(floor(extract(epoch from col) / S) * S), S = iv in s  |
# | $__timeGroupAlias(col, iv)      | the same, followed by `as "time"`                                  |
# | $__interval (as iv)             | 3600 seconds (what Grafana picks for 7 days on a wide panel ~ 1h)  |
#
# Any other macro or dashboard variable left in a query fails the test: add it to the table first.

INTERVAL_SECONDS = {"$__interval": 3600}
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(interval: str) -> int:
    interval = interval.strip().strip("'")
    if interval in INTERVAL_SECONDS:
        return INTERVAL_SECONDS[interval]
    match = re.fullmatch(r"(\d+)([smhd])", interval)
    if not match:
        raise ValueError(f"unknown interval {interval!r} in a Grafana macro")
    return int(match[1]) * UNIT_SECONDS[match[2]]


def _time_group(column: str, interval: str) -> str:
    step = _seconds(interval)
    return f"to_timestamp(floor(extract(epoch from {column}) / {step}) * {step})"


MACROS = {
    "timeFilter": lambda col: f"{col} between now() - {RANGE} and now()",
    "timeFrom": lambda: f"(now() - {RANGE})",
    "timeTo": lambda: "now()",
    "timeGroup": lambda col, iv: _time_group(col, iv),
    "timeGroupAlias": lambda col, iv: f'{_time_group(col, iv)} as "time"',
}


def plain_sql(sql: str) -> str:
    """The query with every Grafana macro replaced by its plain SQL equivalent (see `MACROS`)."""

    def expand(match: re.Match[str]) -> str:
        name, args = match[1], [a.strip() for a in match[2].split(",") if a.strip()]
        if name not in MACROS:
            raise ValueError(f"no plain-SQL equivalent for Grafana macro $__{name}: add it to MACROS")
        return MACROS[name](*args)

    expanded = re.sub(r"\$__(\w+)\(([^()]*)\)", expand, sql)
    if "$" in expanded:
        raise ValueError(f"a Grafana macro or variable is left in the query: {expanded}")
    return expanded


# -- the provisioning files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One SQL query Grafana will run: a dashboard panel's target or an alert rule's data query."""

    where: str
    sql: str
    datasource_uid: str


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def _alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted((PROVISIONING / "alerting").glob("*.yaml"))
        for group in _yaml(path).get("groups", [])
        for rule in group["rules"]
    ]


def panel_queries() -> list[Query]:
    return [
        Query(f"{name}: {panel['title']}", target["rawSql"], target["datasource"]["uid"])
        for name, dashboard in _dashboards().items()
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def alert_queries() -> list[Query]:
    return [
        Query(f"alert {rule['uid']}", data["model"]["rawSql"], data["datasourceUid"])
        for rule in _alert_rules()
        for data in rule["data"]
        if data["datasourceUid"] != EXPRESSION_UID
    ]


def _datasource() -> dict[str, Any]:
    (datasource,) = [
        d
        for path in sorted((PROVISIONING / "datasources").glob("*.yaml"))
        for d in _yaml(path)["datasources"]
    ]
    return datasource


def test_every_provisioning_file_parses() -> None:
    files = sorted(PROVISIONING.rglob("*.yaml"))
    assert {p.parent.name for p in files} == {"datasources", "dashboards", "alerting"}
    for path in files:
        assert _yaml(path)["apiVersion"] == 1, path
    assert _dashboards(), "no dashboard JSON in grafana/dashboards"
    for name, dashboard in _dashboards().items():
        assert dashboard["uid"] and dashboard["title"] and dashboard["panels"], name
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"]), name


def test_datasource_logs_in_as_the_reader_role_with_no_password_in_the_file() -> None:
    datasource = _datasource()
    assert datasource["uid"] == DATASOURCE_UID
    assert datasource["type"] == "grafana-postgresql-datasource"
    assert datasource["user"] == Settings.model_fields["pg_reader_user"].default == "cofre_reader"
    assert datasource["jsonData"]["sslmode"] == "verify-full"  # the server is not on loopback
    assert datasource["jsonData"]["tlsConfigurationMethod"] == "file-path"
    assert datasource["jsonData"]["sslRootCertFile"] == "/tls/ca.crt"  # the stack's CA (docker/tls)
    password = datasource["secureJsonData"]["password"]
    assert re.fullmatch(r"\$__file\{/run/secrets/[\w.-]+\}", password), password
    text = (PROVISIONING / "datasources").joinpath("cofre.yaml").read_text()
    assert "basicAuthPassword" not in text and "password:" not in datasource.get("jsonData", {})


def test_every_panel_and_alert_uses_the_provisioned_datasource() -> None:
    for name, dashboard in _dashboards().items():
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == DATASOURCE_UID, f"{name}: {panel['title']}"
            assert panel["targets"], f"{name}: {panel['title']} has no query"
    for query in [*panel_queries(), *alert_queries()]:
        assert query.datasource_uid == DATASOURCE_UID, query.where
    rules = _alert_rules()
    assert {r["uid"] for r in rules} >= {"cofre-last-run-failed", "cofre-stale-data"}
    for rule in rules:
        ref_ids = {d["refId"] for d in rule["data"]}
        assert rule["condition"] in ref_ids, rule["uid"]


def test_dashboard_covers_the_operations_the_issue_asks_for() -> None:
    titles = {p["title"] for d in _dashboards().values() for p in d["panels"]}
    assert {
        "Run duration",
        "Rows per step",
        "Gate failures",
        "Audit events by action",
        "Lifecycle moves",
    } <= titles


def test_macros_become_plain_sql() -> None:
    assert plain_sql("where $__timeFilter(time)") == f"where time between now() - {RANGE} and now()"
    assert plain_sql("select $__timeGroupAlias(t, '1h')") == (
        'select to_timestamp(floor(extract(epoch from t) / 3600) * 3600) as "time"'
    )
    assert "/ 3600)" in plain_sql("$__timeGroup(t, $__interval)")
    with pytest.raises(ValueError, match="unixEpochFilter"):
        plain_sql("$__unixEpochFilter(t)")
    with pytest.raises(ValueError, match="left in the query"):
        plain_sql("where step = '$step'")


# -- the queries, on a real warehouse -----------------------------------------------------------------

COFRE = [sys.executable, "-m", "orchestration"]


def _cofre(*args: str, home: Path, database: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(
        COLUMNS="200",
        COFRE_HOME=str(home),
        COFRE_PG_DATABASE=database,
        COFRE_PG_READER_USER=Settings().pg_reader_user,  # one role per xdist worker (tests/conftest.py)
        AIRFLOW_HOME=str(home / "airflow"),
        SPARK_LOCAL_IP="127.0.0.1",
    )
    done = subprocess.run([*COFRE, *args], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@dataclass(frozen=True)
class Warehouse:
    database: str
    reader: str

    def admin(self) -> Any:
        import psycopg2

        return psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.database)

    def as_reader(self) -> Any:
        """A login as the reader role, as Grafana logs in (trust authentication on 127.0.0.1 here)."""
        import psycopg2

        return psycopg2.connect(host=PG_HOST, port=PG_PORT, user=self.reader, dbname=self.database)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One pipeline run on a fresh PostgreSQL database, then a lifecycle move of every bronze load and a
    second, one-step run that mirrors the lifecycle events into ops.audit_events."""
    import psycopg2

    name = f"cofre_test_grafana_{uuid.uuid4().hex[:8]}"
    with closing(psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")) as admin:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'create database "{name}"')
        try:
            home = tmp_path_factory.mktemp("grafana") / "home"
            _cofre("run", "--target", "postgres", "--scale", "0.01", "--seed", "7", home=home, database=name)
            _cofre("lifecycle", "run", "--older-than", "0", home=home, database=name)
            _cofre("run", "--target", "postgres", "--select", "prepare_olist", home=home, database=name)
            yield Warehouse(name, Settings().pg_reader_user)
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'drop database if exists "{name}" with (force)')


def _rows(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(plain_sql(sql))
        return cursor.fetchall()


# Panels that have rows after the fixture's runs. The others show gate failures, which a successful run
# does not produce: test_gate_failure_panels_show_a_failed_gate gives them one.
NEEDS_A_FAILED_GATE = {"Gate failures"}


@pytest.mark.integration
@pytest.mark.parametrize("query", panel_queries(), ids=lambda q: q.where)
def test_panel_query_runs_as_the_reader_and_returns_rows(warehouse: Warehouse, query: Query) -> None:
    with closing(warehouse.as_reader()) as reader:
        rows = _rows(reader, query.sql)
    if query.where.split(": ", 1)[1] not in NEEDS_A_FAILED_GATE:
        assert rows, f"{query.where} returned no rows after a run:\n{plain_sql(query.sql)}"


@pytest.mark.integration
def test_panels_show_what_the_runs_did(warehouse: Warehouse) -> None:
    by_title = {q.where.split(": ", 1)[1]: q.sql for q in panel_queries()}
    with closing(warehouse.as_reader()) as reader:
        durations = _rows(reader, by_title["Run duration"])
        steps = dict(_rows(reader, "select step, rows from ops.pipeline_runs where step = 'ingest_olist'"))
        rows_per_step = _rows(reader, by_title["Rows per step"])
        actions = {row[1] for row in _rows(reader, by_title["Audit events by action"])}
        moves = _rows(reader, by_title["Lifecycle moves"])
        (last_run,) = _rows(reader, by_title["Last run"])
    assert len(durations) == 2 and all(seconds > 0 for _, seconds in durations)
    assert steps["ingest_olist"] > 0
    assert ("ingest_olist", steps["ingest_olist"]) in {(step, total) for _, step, total in rows_per_step}
    assert {"run.start", "run.end", "gate.result", "lake.write", "marts.publish", "lifecycle.move"} <= actions
    assert moves and {m[3] for m in moves} == {"bronze->cold"}, moves
    assert last_run == ("succeeded",)


@pytest.mark.integration
def test_gate_failure_panels_show_a_failed_gate(warehouse: Warehouse) -> None:
    """A failed gate.result event, written as the pipeline writes it, appears in both gate panels. It is
    inserted in a transaction that is rolled back; the queries run under the reader role inside it."""
    by_title = {q.where.split(": ", 1)[1]: q.sql for q in panel_queries()}
    with closing(warehouse.admin()) as admin, admin.cursor() as cursor:
        cursor.execute(
            """insert into ops.audit_events
               (seq, time, actor, action, target, outcome, details,
                prev_hash, hash, mac, _dlt_load_id, _dlt_id)
               select max(seq) + 1, now(), 'runner:test', 'gate.result', 'dbt build postgres', 'failure',
                      '{"run_id": "r-failed", "failures": ["unique_fct_orders_order_key: 2 rows"]}',
                      '', '', '', 'test', 'test-gate-failure'
               from ops.audit_events"""
        )
        cursor.execute(f'set local role "{warehouse.reader}"')
        failures = _rows(admin, by_title["Gate failures"])
        (count,) = _rows(admin, by_title["Gate failures in range"])
        outcomes = {row[1] for row in _rows(admin, by_title["Gate results"])}
        admin.rollback()
    assert [(f[1], f[2]) for f in failures] == [("dbt build postgres", "r-failed")]
    assert failures[0][3] == ["unique_fct_orders_order_key: 2 rows"]
    assert count == (1,)
    assert outcomes == {"success", "failure"}


def _alert_value(connection: Any, uid: str) -> float:
    (query,) = [q for q in alert_queries() if q.where == f"alert {uid}"]
    (row,) = _rows(connection, query.sql)
    return float(row[0])


def _threshold(uid: str) -> float:
    (rule,) = [r for r in _alert_rules() if r["uid"] == uid]
    (expression,) = [d for d in rule["data"] if d["refId"] == rule["condition"]]
    (condition,) = expression["model"]["conditions"]
    assert condition["evaluator"]["type"] == "gt"
    return float(condition["evaluator"]["params"][0])


def _fires(connection: Any, uid: str) -> bool:
    return _alert_value(connection, uid) > _threshold(uid)


@pytest.mark.integration
@pytest.mark.parametrize("query", alert_queries(), ids=lambda q: q.where)
def test_alert_query_runs_as_the_reader(warehouse: Warehouse, query: Query) -> None:
    with closing(warehouse.as_reader()) as reader:
        assert len(_rows(reader, query.sql)) == 1, "an alert query must return exactly one row"


@pytest.mark.integration
def test_no_alert_fires_after_successful_runs(warehouse: Warehouse) -> None:
    with closing(warehouse.as_reader()) as reader:
        fired = {rule["uid"]: _fires(reader, rule["uid"]) for rule in _alert_rules()}
    assert fired == dict.fromkeys(fired, False)


@pytest.mark.integration
def test_alerts_fire_on_a_failed_run_stale_data_and_a_broken_trail(warehouse: Warehouse) -> None:
    """Each condition is written into the real tables in a transaction that is rolled back, and the rule's
    query is evaluated under the reader role inside it."""
    with closing(warehouse.admin()) as admin, admin.cursor() as cursor:
        cursor.execute(
            """insert into ops.pipeline_runs
               (run_id, started_at, finished_at, run_status, position, step, step_status, seconds, rows,
                error, _dlt_load_id, _dlt_id)
               values ('r-failed', now(), now(), 'failed', 0, 'ingest_olist', 'failed', 1.0, 0,
                       'boom', 'test', 'test-failed-run')"""
        )
        cursor.execute(f'set local role "{warehouse.reader}"')
        failed = _fires(admin, "cofre-last-run-failed")
        admin.rollback()

        cursor.execute(
            "update ops.pipeline_runs set started_at = started_at - interval '30 hours', "
            "finished_at = finished_at - interval '30 hours'"
        )
        cursor.execute(f'set local role "{warehouse.reader}"')
        stale = _fires(admin, "cofre-stale-data")
        admin.rollback()

        cursor.execute("delete from ops.pipeline_runs")
        cursor.execute(f'set local role "{warehouse.reader}"')
        never_ran = _fires(admin, "cofre-stale-data")
        admin.rollback()

        cursor.execute("update ops.audit_checks set ok = false")
        cursor.execute(f'set local role "{warehouse.reader}"')
        broken = _fires(admin, "cofre-audit-trail-broken")
        admin.rollback()
    assert (failed, stale, never_ran, broken) == (True, True, True, True)
