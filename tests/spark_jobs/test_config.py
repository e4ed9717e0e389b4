"""The Spark configuration builders: tuning in one place, S3A without secrets, submit command lines."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from orchestration.gold.spark import (
    GOLD_JOBS,
    JARS_LOCK,
    SparkJobFailed,
    SparkSettings,
    installed_jars_dir,
    lake_conf,
    layer_uris,
    s3a_conf,
    s3a_jars,
    shuffle_partitions_for,
    spark_settings,
    spark_uri,
)
from orchestration.gold.submit import submit, submit_command
from orchestration.settings import Settings
from security.credentials import spark_env
from security.errors import InsecureTransport
from security.secret_names import LAKE_ACCESS_KEY, LAKE_SECRET_KEY
from security.vault import Vault

ACCESS, SECRET = "AKIAEXAMPLEACCESS01", "s3cr3t-value-that-must-never-leak"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    created = Vault.create(tmp_path / "vault.json", key_file=tmp_path / "vault.key")
    created.set(LAKE_ACCESS_KEY, ACCESS)
    created.set(LAKE_SECRET_KEY, SECRET)
    return created


def test_s3a_conf_local_endpoint_path_style_without_tls_or_keys() -> None:
    conf = s3a_conf(endpoint="http://127.0.0.1:9000", region="sa-east-1")
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "sa-east-1"
    assert conf["spark.hadoop.fs.s3a.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith(
        "EnvironmentVariableCredentialsProvider"
    )
    assert not any("access.key" in k or "secret.key" in k or "session.token" in k for k in conf)


def test_s3a_conf_remote_endpoint_needs_tls() -> None:
    conf = s3a_conf(endpoint="https://minio.example.org:9000")
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "https://minio.example.org:9000"
    with pytest.raises(InsecureTransport):
        s3a_conf(endpoint="http://minio.example.org:9000")


def test_s3a_conf_for_aws_has_no_endpoint_but_still_env_credentials() -> None:
    conf = s3a_conf(endpoint=None)
    assert "spark.hadoop.fs.s3a.endpoint" not in conf
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith(
        "EnvironmentVariableCredentialsProvider"
    )


def test_lake_uris_and_conf_follow_the_settings(tmp_path: Path) -> None:
    local = Settings(home=tmp_path)
    assert layer_uris(local) == (
        f"{(tmp_path / 'lake').as_uri()}/silver",
        f"{(tmp_path / 'lake').as_uri()}/gold",
    )
    assert lake_conf(local) == {}
    s3 = Settings(home=tmp_path, lake_url="s3://cofre-lake/prod", s3_endpoint_url="http://127.0.0.1:9000")
    assert layer_uris(s3) == ("s3a://cofre-lake/prod/silver", "s3a://cofre-lake/prod/gold")
    assert lake_conf(s3)["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert spark_uri("file:///x/y") == "file:///x/y"


def test_tuning_lives_in_one_place(tmp_path: Path) -> None:
    conf = spark_settings(Settings(home=tmp_path, scale=1)).conf()
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.shuffle.partitions"] == "16"
    assert conf["spark.sql.adaptive.enabled"] == "true"
    assert conf["spark.driver.memory"] == "1g"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert spark_settings(Settings(home=tmp_path, scale=10)).driver_memory == "2g"
    assert [shuffle_partitions_for(s) for s in (0.01, 0.1, 1, 10)] == [4, 4, 16, 160]
    cluster = SparkSettings(master="spark://10.0.0.5:7077").conf()
    assert "spark.driver.bindAddress" not in cluster


def test_submit_command_carries_no_secret(vault: Vault, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, lake_url="s3://cofre-lake/prod", s3_endpoint_url="http://127.0.0.1:9000"
    )
    silver, gold = layer_uris(settings)
    command = submit_command(
        "sales_daily",
        {"base_month": "2018-08-01"},
        spark_settings(settings),
        lake_conf(settings),
        silver,
        gold,
    )
    text = " ".join(command)
    assert command[0].endswith("bin/spark-submit")
    assert "--base-month 2018-08-01" in text
    assert "spark.hadoop.fs.s3a.path.style.access=true" in text
    assert ACCESS not in text and SECRET not in text
    # the keys travel only in the child's environment
    assert spark_env(vault, s3=True, postgres=False) == {
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }


def test_spark_on_an_s3_lake_needs_the_vault_and_the_installed_s3a_jars(tmp_path: Path) -> None:
    """S3A reads its keys from the Spark JVM's environment: without the vault there are none, and both
    modes refuse before starting anything. The S3A jars are those `make install` put in the venv, on the
    driver's and the executors' class path (the pinned list, docker/spark/jars.lock)."""
    settings = Settings(
        home=tmp_path, lake_url="s3://cofre-lake/prod", s3_endpoint_url="http://127.0.0.1:9000"
    )
    for mode in ("local", "submit"):
        with pytest.raises(SparkJobFailed, match="needs the vault"):
            submit("sales_daily", {}, settings, None, mode=mode)  # type: ignore[arg-type]
    jars = s3a_jars()
    assert [j.name for j in jars] == [
        "hadoop-aws-3.5.0.jar",
        "bundle-2.35.4.jar",
        "analyticsaccelerator-s3-1.3.1.jar",
    ]
    for jar, line in zip(
        jars, [x for x in JARS_LOCK.read_text().splitlines() if x and x[0] != "#"], strict=True
    ):
        with jar.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        assert jar.parent == installed_jars_dir() and line.split()[1] == digest, jar
    conf = lake_conf(settings)
    assert conf["spark.driver.extraClassPath"] == conf["spark.executor.extraClassPath"]
    assert conf["spark.driver.extraClassPath"].split(":") == [str(j) for j in jars]


def test_unknown_job_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown gold job"):
        submit_command("nope", {}, SparkSettings(), {}, "file:///s", "file:///g")
    assert len(GOLD_JOBS) == 5
