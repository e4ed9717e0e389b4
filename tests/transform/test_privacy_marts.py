"""The privacy policy on marts built by dbt from the real ingestion (scale 0.01, DuckDB): the treatments
leave every quasi-identifier set of the policy at k >= 5, and the publish step's gate follows the policy
given through the `privacy_policy` setting: a stricter k stops the publish, the marts' own lets it
through."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from orchestration.graph import StepContext
from orchestration.services import build_services
from orchestration.settings import Settings
from orchestration.steps.publish import publish_marts
from orchestration.warehouse import privacy
from tests.transform.conftest import Built, copy_home

pytestmark = pytest.mark.integration


class _Reporter:
    def task(self, description: str, total: int | None = None, unit: str = "rows") -> Any:
        return self

    def update(self, completed: int, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def log(self, message: str) -> None:
        pass


def test_built_marts_have_k_of_the_policy_on_every_set(duckdb_built: Built) -> None:
    assert duckdb_built.run.success, "\n".join(duckdb_built.run.failures)
    results = privacy.measure_duckdb(duckdb_built.settings.warehouse_path, privacy.load_policy(), "marts")
    assert len(results) == 6
    assert [r.describe() for r in results if not r.passed] == []
    assert all(r.k >= 5 for r in results)
    with duckdb.connect(str(duckdb_built.settings.warehouse_path), read_only=True) as con:
        # Customer-linked timestamps are never finer than the day; durations keep the exact times.
        finer = con.execute(
            "select count(*) from marts.fct_orders where purchased_at <> date_trunc('day', purchased_at) "
            "or approved_at <> date_trunc('day', approved_at)"
        ).fetchone()
        assert finer == (0,)
        durations = con.execute(
            "select count(*), count(delivery_hours) from marts.fct_orders where delivery_days is not null"
        ).fetchone()
        assert durations is not None and durations[0] > 0 and durations[0] == durations[1]


def _policy_with_k(tmp_path: Path, k: int) -> Path:
    document = yaml.safe_load(privacy.POLICY_FILE.read_text(encoding="utf-8"))
    document["min_k"] = k
    path = tmp_path / f"policy_k{k}.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_publish_follows_the_policy_given_through_the_setting(duckdb_built: Built, tmp_path: Path) -> None:
    # The copy gets its own key and anchor (a copy of the config directory): its audit events must not
    # advance the anchor of the shared state, whose trail would then look truncated.
    home = copy_home(duckdb_built.settings, tmp_path / "home").home
    config = tmp_path / "config"
    shutil.copytree(duckdb_built.settings.config_home / "cofre", config / "cofre")
    strict = Settings(home=home, config_home=config, privacy_policy=_policy_with_k(tmp_path, 500))
    services = build_services(strict)
    with pytest.raises(privacy.PrivacyGateFailed) as failed:
        publish_marts(StepContext(strict, "strict-run", _Reporter(), services))
    assert "dim_customer (state_code, customer_zip3)" in str(failed.value)
    assert "< 500" in str(failed.value) and "smallest groups:" in str(failed.value)
    assert not strict.published_path.exists()  # nothing published

    lowered = Settings(home=home, config_home=config, privacy_policy=_policy_with_k(tmp_path, 5))
    result = publish_marts(StepContext(lowered, "lowered-run", _Reporter(), build_services(lowered)))
    assert lowered.published_path.exists()
    assert any(note.startswith("privacy gate: 6 quasi-identifier sets") for note in result.notes)

    with duckdb.connect(str(lowered.warehouse_path), read_only=True) as con:
        recorded = con.execute(
            "select run_id, bool_and(passed), count(*) from ops.privacy_checks "
            "group by run_id order by run_id"
        ).fetchall()
    assert recorded == [("lowered-run", True, 6), ("strict-run", False, 6)]
    gates = [
        (e["outcome"], e["details"]["run_id"])
        for e in services.audit.events()
        if e["action"] == "gate.result" and e["target"] == "privacy k-anonymity duckdb"
    ]
    assert gates == [("failure", "strict-run"), ("success", "lowered-run")]


def test_postgres_marts_have_k_of_the_policy_on_every_set(postgres_built: Built) -> None:
    import psycopg2

    from tests.transform.conftest import PG

    assert postgres_built.run.success, "\n".join(postgres_built.run.failures)
    con = psycopg2.connect(dbname=postgres_built.settings.pg_database, **PG)
    try:
        results = privacy.measure_postgres(con, privacy.load_policy(), "marts")
    finally:
        con.close()
    assert len(results) == 6
    assert [r.describe() for r in results if not r.passed] == []
