"""TLS to PostgreSQL, decided once for every client of cofre: the pipeline's psycopg2 connections, dlt's
credentials, the dbt profile, the dashboard, Grafana's data source and Airflow's connection.

The policy:
- beyond loopback, only `verify-full`: the server must offer TLS, its certificate must be signed by the
  configured CA (`sslrootcert`: a CA file, or `system` for the operating system's trusted roots) and be
  issued for the host name cofre connects to. `require` and `verify-ca` are refused there: without the
  name check anyone holding a certificate of that CA (or any certificate at all) can sit in the middle;
- on loopback (localhost, 127.0.0.0/8, ::1, a Unix socket directory) any mode, `prefer` by default: the
  traffic never leaves this machine;
- a server that offers no TLS when TLS is required, or whose certificate is rejected, is reported with
  an error that says what to do (`PostgresTlsUnavailable`, `PostgresCertificateRejected`), not libpq's
  one-line message.

Nothing here reads the environment: the settings (COFRE_PG_SSLMODE, COFRE_PG_SSLROOTCERT) are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from security.credentials import is_loopback
from security.errors import PostgresCertificateRejected, PostgresTlsNotConfigured, PostgresTlsUnavailable

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PgConnection

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
SSL_MODES: tuple[str, ...] = get_args(SslMode)
LOOPBACK_DEFAULT: SslMode = "prefer"
BEYOND_LOOPBACK: SslMode = "verify-full"
SYSTEM_ROOTS = "system"
"""libpq ≥ 16: `sslrootcert=system` trusts the operating system's CA store (psycopg2's libpq is 17)."""

_NO_TLS = ("server does not support ssl",)
_BAD_CERTIFICATE = ("certificate verify failed", "does not match host name", "certificate is not yet valid")


@dataclass(frozen=True)
class PostgresTls:
    """The TLS parameters of one PostgreSQL endpoint, already checked against the policy."""

    host: str
    sslmode: SslMode
    sslrootcert: str | None

    @property
    def required(self) -> bool:
        return self.sslmode in ("require", "verify-ca", "verify-full")

    def libpq(self) -> dict[str, str]:
        """Connection parameters for libpq (psycopg2 keyword arguments, a URL's query, Airflow extras)."""
        params = {"sslmode": str(self.sslmode)}
        if self.sslrootcert:
            params["sslrootcert"] = self.sslrootcert
        return params

    def dbt_env(self) -> dict[str, str]:
        """What transform/profiles.yml's postgres output reads (non-secret: a mode and a path)."""
        return {"COFRE_PG_SSLMODE": str(self.sslmode), "COFRE_PG_SSLROOTCERT": self.sslrootcert or ""}


def postgres_tls(
    host: str, *, sslmode: str | None = None, sslrootcert: str | Path | None = None
) -> PostgresTls:
    """The TLS parameters to reach `host`, or `PostgresTlsNotConfigured` when the configuration would let
    credentials or data travel unprotected beyond this machine."""
    loopback = is_loopback(host)
    mode = sslmode or (LOOPBACK_DEFAULT if loopback else BEYOND_LOOPBACK)
    if mode not in SSL_MODES:
        raise PostgresTlsNotConfigured(
            f"COFRE_PG_SSLMODE={mode!r} is not a libpq sslmode: use verify-full "
            "(or, for a server on this machine only, prefer or disable)."
        )
    root = str(sslrootcert) if sslrootcert else None
    if not loopback:
        if mode != BEYOND_LOOPBACK:
            raise PostgresTlsNotConfigured(
                f"COFRE_PG_SSLMODE={mode} for PostgreSQL at {host}, which is not this machine: only "
                "verify-full checks that the server is the one named and that its certificate comes from "
                "your CA, so anything else can be downgraded or intercepted. Set "
                "COFRE_PG_SSLMODE=verify-full "
                "(or leave it unset) and COFRE_PG_SSLROOTCERT to the CA certificate."
            )
        if root is None:
            raise PostgresTlsNotConfigured(
                f"PostgreSQL at {host} is not on this machine, so cofre checks its certificate "
                "(sslmode=verify-full), but no CA is configured: set COFRE_PG_SSLROOTCERT to the CA "
                "certificate file that signed the server's certificate (or to `system` to trust the "
                "operating system's CA store)."
            )
    if root is not None and root != SYSTEM_ROOTS and not Path(root).is_file():
        raise PostgresTlsNotConfigured(
            f"COFRE_PG_SSLROOTCERT={root} is not a file: point it at the CA certificate (PEM) that signed "
            "the PostgreSQL server's certificate."
        )
    return PostgresTls(host=host, sslmode=cast(SslMode, mode), sslrootcert=root)


def connect_kwargs(tls: PostgresTls, *, port: int, user: str, dbname: str, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for `psycopg2.connect` to the endpoint of `tls` (`extra`: password,
    connect_timeout, application_name, hostaddr, ...)."""
    return {"host": tls.host, "port": port, "user": user, "dbname": dbname, **tls.libpq(), **extra}


def connect(**kwargs: Any) -> PgConnection:
    """`psycopg2.connect(**kwargs)`, with a server that offers no TLS when it is required, or a rejected
    certificate, reported as what it is and what to do (the libpq message is kept as the cause)."""
    import psycopg2

    try:
        return psycopg2.connect(**kwargs)
    except psycopg2.OperationalError as error:
        message = str(error).strip()
        lowered = message.lower()
        where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 5432)}"
        if any(marker in lowered for marker in _NO_TLS):
            raise PostgresTlsUnavailable(where, str(kwargs.get("sslmode", ""))) from error
        if any(marker in lowered for marker in _BAD_CERTIFICATE):
            detail = message.splitlines()[0] if message else "certificate rejected"
            raise PostgresCertificateRejected(where, kwargs.get("sslrootcert"), detail) from error
        raise
