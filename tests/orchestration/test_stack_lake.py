"""Stack mode: `cofre run --lake s3://…` runs the whole pipeline with the lake on an S3 API server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.fakes.s3_server import REGION, S3Server, s3_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_whole_pipeline_on_an_s3_lake(tmp_path: Path, s3_server: S3Server) -> None:  # noqa: F811
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(
        COFRE_HOME=str(tmp_path / "state"),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        COLUMNS="200",
        COFRE_S3_ENDPOINT_URL=s3_server.endpoint_url,
        COFRE_S3_REGION=REGION,
    )

    def cofre(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orchestration", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=False,
        )

    assert cofre("vault", "init").returncode == 0  # generates the lake's access key pair
    keys = {name: cofre("vault", "get", name).stdout for name in ("lake_access_key", "lake_secret_key")}
    bucket = s3_server.create_bucket(keys["lake_access_key"], keys["lake_secret_key"])

    run = cofre("run", "--scale", "0.01", "--lake", f"s3://{bucket}/lake")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"s3://{bucket}/lake" in run.stdout
    assert not (tmp_path / "state" / "lake").exists()  # nothing of the lake landed on local disk

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=keys["lake_access_key"],
        aws_secret_access_key=keys["lake_secret_key"],
    )
    listed = client.list_objects_v2(Bucket=bucket, Prefix="lake/bronze/")
    names = [o["Key"] for o in listed.get("Contents", [])]
    for source in ("olist", "bcb", "openweather"):
        assert any(n.startswith(f"lake/bronze/{source}/_manifests/") for n in names), source
    assert any("/orders/load_date=" in n and n.endswith(".parquet") for n in names)

    verify = cofre("lake", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    secret = keys["lake_secret_key"]
    assert secret not in run.stdout + run.stderr + verify.stdout
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
