"""No secret leaves the vault: run the pipeline with marker secrets, then scan everything it left behind."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_HOST, PG_PORT, PG_USER

pytestmark = pytest.mark.integration


def cofre(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def files_containing(root: Path, needles: dict[str, str]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{name} in {path}" for name, value in needles.items() if value.encode() in data]
    return hits


def test_pipeline_run_leaks_no_secret(tmp_path: Path, pg_database: str) -> None:
    home = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(
        COFRE_HOME=str(home),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        COFRE_TARGET="postgres",
        COFRE_PG_HOST=PG_HOST,
        COFRE_PG_PORT=str(PG_PORT),
        COFRE_PG_USER=PG_USER,
        COFRE_PG_DATABASE=pg_database,
        COLUMNS="200",
    )
    assert cofre("vault", "init", env=env).returncode == 0
    markers = {  # the server trusts loopback, so the marker password is sent but not needed
        "openweather_api_key": f"owm-marker-{secrets.token_hex(12)}",
        "pg_password": f"pg-marker-{secrets.token_hex(12)}",
    }
    for name, value in markers.items():
        result = cofre("vault", "set", name, env=env, stdin=value)
        assert result.returncode == 0, result.stderr

    run = cofre("run", "--scale", "0.01", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "raw_openweather" in run.stdout

    # Every value in the vault, generated ones included, is a needle.
    needles = dict(markers)
    for name in ("masking_key", "audit_hmac_key", "lake_access_key", "lake_secret_key"):
        value = cofre("vault", "get", name, env=env)
        assert value.returncode == 0 and len(value.stdout) >= 16
        needles[name] = value.stdout
    audit = cofre("audit", "verify", env=env)
    assert audit.returncode == 0, audit.stdout + audit.stderr

    assert files_containing(tmp_path, needles) == []
    for name, value in needles.items():
        assert value not in run.stdout + run.stderr + audit.stdout, name
    # The audit trail saw the reads, by name.
    trail = (home / "audit" / "audit.jsonl").read_text()
    assert '"secret.read"' in trail and '"openweather_api_key"' in trail and '"pg_password"' in trail
