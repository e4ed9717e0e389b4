"""Credential resolution for dbt, Spark, PostgreSQL and S3, and the first-run secrets."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from security.bootstrap import EMBEDDED_SECRETS, ensure_embedded_secrets
from security.credentials import (
    dbt_env,
    endpoint_url,
    is_loopback,
    postgres_connect_kwargs,
    spark_conf,
    spark_env,
)
from security.errors import InsecureTransport, SecretNotFound
from security.keys import decode_b64
from security.vault import Vault


@pytest.fixture
def bootstrapped(vault: Vault) -> Vault:
    ensure_embedded_secrets(vault)
    return vault


def test_bootstrap_creates_only_what_is_missing(vault: Vault) -> None:
    vault.set("masking_key", "kept-masking-key-value")
    created = ensure_embedded_secrets(vault)
    assert created == ["audit_hmac_key", "lake_access_key", "lake_secret_key", "pg_reader_password"]
    assert vault.get("masking_key") == "kept-masking-key-value"
    assert ensure_embedded_secrets(vault) == []
    assert len(decode_b64(vault.get("audit_hmac_key"))) == 32
    assert len(vault.get("lake_access_key")) == 20 and vault.get("lake_access_key").isalnum()
    assert len(vault.get("lake_secret_key")) >= 40
    assert len(vault.get("pg_reader_password")) >= 40 and vault.get("pg_reader_password").isascii()
    assert set(EMBEDDED_SECRETS) <= set(vault.names())
    assert "openweather_api_key" not in vault.names()


def test_dbt_env_uses_secret_prefix(bootstrapped: Vault) -> None:
    env = dbt_env(bootstrapped, "duckdb", settings={"COFRE_WAREHOUSE_PATH": "/x/cofre.duckdb"})
    assert env == {
        "COFRE_WAREHOUSE_PATH": "/x/cofre.duckdb",
        "DBT_ENV_SECRET_MASKING_KEY": bootstrapped.get("masking_key"),
    }
    assert dbt_env(bootstrapped, "postgres")["DBT_ENV_SECRET_PG_PASSWORD"] == ""
    bootstrapped.set("pg_password", "pg-secret-value")
    assert dbt_env(bootstrapped, "postgres")["DBT_ENV_SECRET_PG_PASSWORD"] == "pg-secret-value"
    with pytest.raises(ValueError, match="DBT_ENV_SECRET_"):
        dbt_env(bootstrapped, "duckdb", settings={"DBT_ENV_SECRET_SNEAKY": "x"})


def test_dbt_env_needs_the_masking_key(vault: Vault) -> None:
    with pytest.raises(SecretNotFound, match="masking_key"):
        dbt_env(vault, "duckdb")


def test_spark_conf_and_env(bootstrapped: Vault) -> None:
    conf = spark_conf(s3_endpoint="http://127.0.0.1:9000")
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert "EnvironmentVariableCredentialsProvider" in conf["spark.hadoop.fs.s3a.aws.credentials.provider"]
    remote = spark_conf(s3_endpoint="minio.internal:9000")
    assert remote["spark.hadoop.fs.s3a.endpoint"] == "https://minio.internal:9000"
    assert remote["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"
    assert spark_conf() == {}
    secrets = set(bootstrapped.secret_values())
    assert not secrets & set(conf.values())  # secrets never go on the command line

    env = spark_env(bootstrapped, s3=True, postgres=True)
    assert env == {
        "AWS_ACCESS_KEY_ID": bootstrapped.get("lake_access_key"),
        "AWS_SECRET_ACCESS_KEY": bootstrapped.get("lake_secret_key"),
    }
    bootstrapped.set("pg_password", "pg-secret-value")
    assert spark_env(bootstrapped, s3=False, postgres=True) == {"PGPASSWORD": "pg-secret-value"}


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("/var/run/postgresql", True),
        ("10.0.0.5", False),
        ("db.example.com", False),
        ("localhost.evil.com", False),
    ],
)
def test_is_loopback(host: str, local: bool) -> None:
    assert is_loopback(host) is local


def test_postgres_tls_required_unless_loopback(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(InsecureTransport, match="COFRE_PG_SSLROOTCERT"):
        postgres_connect_kwargs(vault, host="db.example.com", port=5432, user="cofre", dbname="cofre")
    with pytest.raises(InsecureTransport, match="verify-full"):
        postgres_connect_kwargs(
            vault, host="db.example.com", port=5432, user="cofre", dbname="cofre", sslmode="require"
        )
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    remote = postgres_connect_kwargs(
        vault, host="db.example.com", port=5432, user="cofre", dbname="cofre", sslrootcert=str(ca)
    )
    assert remote["sslmode"] == "verify-full" and remote["sslrootcert"] == str(ca)
    assert "password" not in remote
    vault.set("pg_password", "pg-secret-value")
    local = postgres_connect_kwargs(vault, host="127.0.0.1", port=5432, user="cofre", dbname="cofre")
    assert local["sslmode"] == "prefer" and local["password"] == "pg-secret-value"


def test_s3_tls_on_unless_loopback() -> None:
    assert endpoint_url("http://127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert endpoint_url("127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert endpoint_url("s3.amazonaws.com") == "https://s3.amazonaws.com"
    assert endpoint_url("https://minio.internal:9000") == "https://minio.internal:9000"
    with pytest.raises(InsecureTransport, match="https://"):
        endpoint_url("http://minio.internal:9000")


@pytest.mark.integration
def test_postgres_kwargs_connect_to_a_real_server(vault: Vault) -> None:
    kwargs = postgres_connect_kwargs(vault, host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    with psycopg2.connect(**kwargs) as connection, connection.cursor() as cursor:
        cursor.execute("select current_setting('application_name')")
        assert cursor.fetchone() == ("cofre",)
    connection.close()
