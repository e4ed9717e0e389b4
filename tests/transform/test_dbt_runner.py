"""orchestration.warehouse.dbt without running dbt: environment, PGOPTIONS, failure report."""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.settings import Settings
from orchestration.warehouse.dbt import dbt_environment, read_failures
from security.secret_names import MASKING_KEY, PG_PASSWORD
from security.vault import Vault

TEST_NAME = "expect_column_values_to_be_between_stg_olist__order_items_price__0"


def _vault(home: Path) -> Vault:
    vault = Vault.create(home / "vault" / "vault.json", key_file=home / "vault" / "vault.key")
    vault.set(MASKING_KEY, "mask key\\with spaces")
    vault.set(PG_PASSWORD, "pg-secret-password")
    return vault


def test_duckdb_environment(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    env = dbt_environment(settings, _vault(tmp_path))
    assert env["COFRE_DUCKDB_PATH"] == str(settings.warehouse_path)
    assert env["DBT_ENV_SECRET_MASKING_KEY"] == "mask key\\with spaces"
    assert "PGOPTIONS" not in env and "DBT_ENV_SECRET_PG_PASSWORD" not in env
    assert Path(env["DBT_PROFILES_DIR"], "profiles.yml").exists()


def test_postgres_environment_sets_the_key_per_session(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, target="postgres", pg_database="warehouse", pg_port=6543)
    env = dbt_environment(settings, _vault(tmp_path))
    assert env["PGOPTIONS"].endswith("-c cofre.masking_key=mask\\ key\\\\with\\ spaces")
    assert env["DBT_ENV_SECRET_PG_PASSWORD"] == "pg-secret-password"
    assert (env["COFRE_PG_DATABASE"], env["COFRE_PG_PORT"]) == ("warehouse", "6543")


def test_failures_name_the_failing_test(tmp_path: Path) -> None:
    results = tmp_path / "run_results.json"
    results.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": f"test.cofre.{TEST_NAME}.1a2b",
                        "status": "fail",
                        "failures": 1,
                        "message": "Got 1 result, configured to fail if != 0",
                    },
                    {"unique_id": "model.cofre.fct_orders", "status": "error", "message": "boom\nmore"},
                    {"unique_id": "test.cofre.warned.99", "status": "warn", "failures": 3},
                    {"unique_id": "model.cofre.dim_date", "status": "success"},
                ]
            }
        ),
        encoding="utf-8",
    )
    assert read_failures(results) == [
        f"test {TEST_NAME} (fail): 1 failing row",
        "model fct_orders (error): boom",
    ]
