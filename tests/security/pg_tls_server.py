"""A throw-away PostgreSQL cluster with TLS, started by the tests themselves: initdb into a temporary
directory, a CA and a server certificate made here with `cryptography`, ssl=on on a spare port of 127.0.0.1.

Run as root, the cluster belongs to the `postgres` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVER_NAME = "db.cofre.test"
"""The name in the server's certificate (with 127.0.0.1 and localhost); libpq connects to it with
`hostaddr=127.0.0.1`, so no resolver is involved and the certificate is still checked against the name."""


@dataclass(frozen=True)
class TlsCluster:
    port: int
    ca: Path
    """The CA that signed the server's certificate."""
    wrong_ca: Path
    """A CA that signed nothing of this server."""
    data_dir: Path

    def psql(self, sql: str) -> str:
        import psycopg2

        con = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", sslmode="disable"
        )
        con.autocommit = True
        try:
            with con.cursor() as cursor:
                cursor.execute(sql)
                rows = cursor.fetchall() if cursor.description else []
        finally:
            con.close()
        return "\n".join(str(row[0]) for row in rows)

    def set_ssl(self, on: bool) -> None:
        """Turn the server's TLS on or off (a reload: new sessions see it) and wait until they do."""
        self.psql(f"alter system set ssl = {'on' if on else 'off'}")
        self.psql("select pg_reload_conf()")
        deadline = time.monotonic() + 10
        while self.psql("show ssl") != ("on" if on else "off"):
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not reload its ssl setting")
            time.sleep(0.1)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SERVER_NAME))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(SERVER_NAME),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def tls_cluster(client_dir: Path) -> Iterator[TlsCluster]:
    """A running TLS cluster; its CA files are written to `client_dir` (the client's side)."""
    ca_key, ca_cert = _ca("cofre test CA")
    _, wrong_cert = _ca("someone else's CA")
    server_key, server_cert = _server_cert(ca_key, ca_cert)
    client_dir.mkdir(parents=True, exist_ok=True)
    ca, wrong_ca = client_dir / "ca.crt", client_dir / "wrong-ca.crt"
    ca.write_bytes(_pem(ca_cert))
    wrong_ca.write_bytes(_pem(wrong_cert))

    # Outside pytest's private tmp directories: the postgres user must be able to enter it.
    base = Path(tempfile.mkdtemp(prefix="cofre-pgtls-"))
    data = base / "data"
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = _spare_port()
    try:
        subprocess.run(
            _as_owner([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-N"]),
            check=True,
            capture_output=True,
            timeout=120,
            cwd=base,
        )
        (data / "server.crt").write_bytes(_pem(server_cert))
        (data / "server.key").write_bytes(_key_pem(server_key))
        with (data / "postgresql.conf").open("a") as conf:  # not -c: ALTER SYSTEM must be able to turn it off
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        (data / "pg_hba.conf").write_text(
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n"
        )
        for name in ("server.crt", "server.key", "pg_hba.conf"):
            (data / name).chmod(0o600)
            if owner is not None:
                os.chown(data / name, owner.pw_uid, owner.pw_gid)
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} "
            "-c fsync=off "
            "-c shared_buffers=16MB -c max_connections=20"
        )
        subprocess.run(
            _as_owner(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(base / "log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
            cwd=base,
        )
        yield TlsCluster(port=port, ca=ca, wrong_ca=wrong_ca, data_dir=data)
    finally:
        with suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
                cwd=base,
            )
        shutil.rmtree(base, ignore_errors=True)
