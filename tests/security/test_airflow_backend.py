"""The Airflow secrets backend serves connections and variables from the vault inside real Airflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from security.bootstrap import ensure_embedded_secrets
from security.vault import Vault
from tests.security.helpers import run_python

_LOOKUPS = """
import json

from airflow.models.variable import Variable
from airflow.sdk import BaseHook

uri = BaseHook.get_connection("cofre_warehouse")
js = BaseHook.get_connection("openweather_api")
print(json.dumps({
    "uri": [uri.conn_type, uri.host, uri.port, uri.login, uri.schema, uri.password == "pg-pw-marker-123"],
    "json": [js.conn_type, js.host, js.password == "ow-token-marker-456"],
    "variable": Variable.get("lake_bucket"),
    "missing": Variable.get("not_in_vault", default_var="fell through"),
}))
"""


@pytest.mark.integration
def test_backend_serves_connections_and_variables_in_airflow(
    vault: Vault, key_file: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    ensure_embedded_secrets(vault)
    vault.set("airflow_conn_cofre_warehouse", "postgresql://cofre:pg-pw-marker-123@db.internal:5432/cofre")
    vault.set(
        "airflow_conn_openweather_api",
        json.dumps(
            {"conn_type": "http", "host": "api.openweathermap.org", "password": "ow-token-marker-456"}
        ),
    )
    vault.set("airflow_var_lake_bucket", "cofre-lake")
    audit_path = tmp_path / "audit" / "audit.jsonl"
    env = {
        **subprocess_env,
        "AIRFLOW__SECRETS__BACKEND": "security.airflow_backend.CofreVaultSecretsBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {"vault_path": str(vault.path), "key_file": str(key_file), "audit_path": str(audit_path)}
        ),
    }

    result = run_python(_LOOKUPS, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["uri"] == ["postgres", "db.internal", 5432, "cofre", "cofre", True]
    assert answer["json"] == ["http", "api.openweathermap.org", True]
    assert answer["variable"] == "cofre-lake"
    assert answer["missing"] == "fell through"

    events = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert [(e["actor"], e["action"]) for e in events] == [("airflow", "secret.read")] * 3
    assert {e["target"] for e in events} == {
        "airflow_conn_cofre_warehouse",
        "airflow_conn_openweather_api",
        "airflow_var_lake_bucket",
    }
    assert "marker" not in audit_path.read_text()
