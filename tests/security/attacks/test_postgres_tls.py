"""Attack: reach cofre's PostgreSQL clients with a server cofre should not trust, or one without TLS.

A real cluster with ssl=on, started here (tests/security/pg_tls_server.py), with a certificate for
`db.cofre.test`, 127.0.0.1 and localhost signed by a CA made here. Every client goes through
`security.postgres_tls`: the pipeline's psycopg2 connections (`Warehouse`), dlt's credentials, the dbt
profile, the dashboard's reader connection. Beyond loopback only verify-full with the configured CA is
accepted; the right CA connects over TLS, another CA or another host name is refused, and a server that
offers no TLS is refused with an error that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from orchestration.settings import Settings
from orchestration.warehouse.connection import Warehouse
from security.credentials import postgres_connect_kwargs
from security.errors import (
    InsecureTransport,
    PostgresCertificateRejected,
    PostgresTlsNotConfigured,
    PostgresTlsUnavailable,
)
from security.postgres_tls import connect
from security.vault import Vault
from tests.security.pg_tls_server import PG_BIN, SERVER_NAME, TlsCluster, tls_cluster

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15 server binaries not installed"
    ),
]

ROOT = Path(__file__).resolve().parents[3]
SSL_IN_USE = "select ssl from pg_stat_ssl where pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    with tls_cluster(tmp_path_factory.mktemp("pg-client")) as running:
        yield running


def _settings(cluster: TlsCluster, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path / "home",
        "target": "postgres",
        "pg_host": "127.0.0.1",
        "pg_port": cluster.port,
        "pg_user": "postgres",
        "pg_database": "cofre_tls",
        "pg_sslmode": "verify-full",
        "pg_sslrootcert": str(cluster.ca),
        **overrides,
    }
    return Settings(**values)


def _uses_tls(con: Any) -> bool:
    with con.cursor() as cursor:
        cursor.execute(SSL_IN_USE)
        return bool(cursor.fetchone()[0])


def _remote(vault: Vault, cluster: TlsCluster, host: str = SERVER_NAME, **tls: Any) -> dict[str, Any]:
    """psycopg2 arguments for a server that is NOT loopback as far as cofre knows (a host name), reached
    at 127.0.0.1 through libpq's hostaddr: the certificate is checked against `host`."""
    kwargs = postgres_connect_kwargs(
        vault, host=host, port=cluster.port, user="postgres", dbname="postgres", **tls
    )
    return {**kwargs, "hostaddr": "127.0.0.1"}


def test_verify_full_with_the_right_ca_connects_over_tls(
    cluster: TlsCluster, tmp_path: Path, vault: Vault
) -> None:
    # The pipeline's own connections: the warehouse database is created over TLS, then used.
    warehouse = Warehouse(_settings(cluster, tmp_path))
    warehouse.ensure_postgres_database()
    with closing(warehouse.connect_postgres()) as con:
        assert _uses_tls(con)
    # A server beyond loopback: verify-full is the default, with the configured CA.
    kwargs = _remote(vault, cluster, sslrootcert=str(cluster.ca))
    assert kwargs["sslmode"] == "verify-full"
    with closing(connect(**kwargs)) as con:
        assert _uses_tls(con)
    # dlt's credentials carry the same parameters in the connection URL.
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = PostgresCredentials(warehouse.postgres_credentials())
    with closing(psycopg2.connect(dsn=credentials.to_native_representation())) as con:
        assert _uses_tls(con)


def test_another_ca_or_another_host_name_is_refused(
    cluster: TlsCluster, tmp_path: Path, vault: Vault
) -> None:
    warehouse = Warehouse(_settings(cluster, tmp_path, pg_sslrootcert=str(cluster.wrong_ca)))
    with pytest.raises(PostgresCertificateRejected, match="COFRE_PG_SSLROOTCERT") as refused:
        warehouse.connect_postgres()
    assert "certificate verify failed" in str(refused.value)
    with pytest.raises(PostgresCertificateRejected):
        warehouse.ensure_postgres_database()
    # The right CA, but the server is not the one named: a certificate of that CA for another name.
    with pytest.raises(PostgresCertificateRejected, match="does not match host name"):
        connect(**_remote(vault, cluster, host="other.cofre.test", sslrootcert=str(cluster.ca)))
    # dlt's connection URL with the other CA: libpq refuses it too (the query reaches libpq).
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = PostgresCredentials(warehouse.postgres_credentials())
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(dsn=credentials.to_native_representation())


def test_weaker_modes_beyond_loopback_are_refused_before_connecting(vault: Vault, tmp_path: Path) -> None:
    for mode in ("disable", "allow", "prefer", "require", "verify-ca"):
        with pytest.raises(PostgresTlsNotConfigured, match="verify-full"):
            postgres_connect_kwargs(
                vault,
                host=SERVER_NAME,
                port=5432,
                user="cofre",
                dbname="cofre",
                sslmode=mode,
                sslrootcert=str(tmp_path),
            )
    with pytest.raises(PostgresTlsNotConfigured, match="COFRE_PG_SSLROOTCERT"):
        Warehouse(Settings(home=tmp_path, target="postgres", pg_host=SERVER_NAME)).connect_postgres()
    assert issubclass(PostgresTlsNotConfigured, InsecureTransport)


def test_dbt_profile_checks_the_certificate(
    cluster: TlsCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transform/profiles.yml's postgres output passes COFRE_PG_SSLMODE/COFRE_PG_SSLROOTCERT to libpq
    (`dbt debug --connection`, in this process: dbt reads the variables from os.environ)."""
    from dbt.cli.main import dbtRunner

    settings = _settings(cluster, tmp_path)
    for name in [n for n in os.environ if n.startswith(("COFRE_", "PG"))]:
        monkeypatch.delenv(name)
    for name, value in {
        "COFRE_PG_HOST": "127.0.0.1",
        "COFRE_PG_PORT": str(cluster.port),
        "COFRE_PG_USER": "postgres",
        "COFRE_PG_DATABASE": "postgres",
        "DBT_PROFILES_DIR": str(ROOT / "transform"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }.items():
        monkeypatch.setenv(name, value)

    def debug(ca: Path) -> bool:
        for name, value in (
            Warehouse(settings.model_copy(update={"pg_sslrootcert": str(ca)})).dbt_tls_env().items()
        ):
            monkeypatch.setenv(name, value)
        args = ["debug", "--connection", "--target", "postgres", "--project-dir", str(ROOT / "transform")]
        return bool(dbtRunner().invoke(args).success)

    assert debug(cluster.wrong_ca) is False
    assert "certificate verify failed" in (tmp_path / "logs" / "dbt.log").read_text()
    assert debug(cluster.ca) is True


def test_a_server_without_tls_is_refused_with_a_clear_error(
    cluster: TlsCluster, tmp_path: Path, vault: Vault
) -> None:
    cluster.set_ssl(False)
    try:
        warehouse = Warehouse(_settings(cluster, tmp_path))
        with pytest.raises(PostgresTlsUnavailable, match="offers no TLS") as refused:
            warehouse.connect_postgres()
        assert "ssl = on" in str(refused.value) and "COFRE_PG_SSLROOTCERT" in str(refused.value)
        with pytest.raises(PostgresTlsUnavailable):
            connect(**_remote(vault, cluster, sslrootcert=str(cluster.ca)))
        # The downgrade that `prefer` allows is allowed only on loopback, where nothing crosses a network.
        loopback = Warehouse(_settings(cluster, tmp_path, pg_sslmode=None, pg_sslrootcert=None))
        assert loopback.tls.sslmode == "prefer"
        with closing(loopback.connect_postgres()) as con:
            assert not _uses_tls(con)
    finally:
        cluster.set_ssl(True)
