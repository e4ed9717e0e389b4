"""The dlt provider feeds `dlt.secrets.value` source arguments from the vault in a real pipeline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from security.bootstrap import ensure_embedded_secrets
from security.dlt_provider import vault_entry_name
from security.vault import Vault
from tests.security.helpers import files_containing, run_python

API_KEY = "ow-api-key-marker-9f8e7d6c5b4a"

_PIPELINE = """
import json, sys
from hashlib import sha256
from pathlib import Path

import dlt

from security.audit import AuditTrail
from security.dlt_provider import register_vault_provider
from security.vault import Vault

vault_path, key_file, audit_path, work = (Path(a) for a in sys.argv[1:5])
vault = Vault(vault_path, key_file=key_file)
AuditTrail.for_vault(audit_path, vault, actor="pipeline")
register_vault_provider(vault)
register_vault_provider(vault)  # registering again replaces, never duplicates


@dlt.source(name="openweather")
def openweather_source(api_key: str = dlt.secrets.value, city: str = "Sao Paulo"):
    @dlt.resource(name="probe", write_disposition="replace")
    def probe():
        yield {"city": city, "key_sha256": sha256(api_key.encode()).hexdigest()}

    return probe


pipeline = dlt.pipeline(
    pipeline_name="vault_probe",
    pipelines_dir=str(work / "pipelines"),
    destination=dlt.destinations.duckdb(str(work / "probe.duckdb")),
    dataset_name="raw_openweather",
)
info = pipeline.run(openweather_source())
print(json.dumps({"failed": info.has_failed_jobs}))
"""


def test_mapping_of_source_sections() -> None:
    assert vault_entry_name("api_key", ("sources", "ingestion.openweather", "openweather")) == (
        "openweather_api_key"
    )
    assert vault_entry_name("api_key", ("sources", "openweather")) == "openweather_api_key"
    assert vault_entry_name("api_key", ("sources",)) is None
    assert vault_entry_name("api_key", ()) is None
    assert vault_entry_name("password", ("destination", "postgres")) is None


@pytest.mark.integration
def test_provider_feeds_a_real_dlt_pipeline(
    vault: Vault, key_file: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    ensure_embedded_secrets(vault)
    vault.set("openweather_api_key", API_KEY)
    audit_path = tmp_path / "audit" / "audit.jsonl"
    work = tmp_path / "dlt-work"
    env = {**subprocess_env, "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false"}  # dlt would import Airflow (~8 s)

    result = run_python(_PIPELINE, str(vault.path), str(key_file), str(audit_path), str(work), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"failed": False}

    with duckdb.connect(str(work / "probe.duckdb"), read_only=True) as db:
        rows = db.execute("select city, key_sha256 from raw_openweather.probe").fetchall()
    assert rows == [("Sao Paulo", hashlib.sha256(API_KEY.encode()).hexdigest())]

    reads = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert {(e["action"], e["target"]) for e in reads} == {("secret.read", "openweather_api_key")}
    # The value reached the source and nowhere else: not dlt's state, trace, schemas or load packages.
    assert list(files_containing(tmp_path, [API_KEY])) == []
    assert API_KEY not in result.stdout + result.stderr
