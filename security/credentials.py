"""Turn vault entries into exactly what each consumer needs, at the moment it is about to be used.

Nothing here writes a file: the results are passed to a client constructor, or put in the environment
of one child process (dbt, spark-submit), never on its command line where `ps` would show them. Each
read goes through `Vault.get`, so it is audited when the vault is wired to the audit trail. Transport
security is decided here too: TLS is required unless the other end is this machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from security.errors import InsecureTransport, SecretNotFound
from security.masking import duckdb_hmac_pads
from security.redaction import install_redaction
from security.secret_names import LAKE_ACCESS_KEY, LAKE_SECRET_KEY, MASKING_KEY, PG_PASSWORD
from security.vault import Vault

DBT_SECRET_PREFIX = "DBT_ENV_SECRET_"  # noqa: S105 (a variable-name prefix)
"""dbt scrubs the values of variables with this prefix from its logs and refuses them outside profiles."""

DBT_MASKING_KEY_VAR = "DBT_ENV_SECRET_MASKING_KEY"
DBT_PG_PASSWORD_VAR = "DBT_ENV_SECRET_PG_PASSWORD"  # noqa: S105 (a variable name)
S3A_ENV_CREDENTIALS = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
PG_MASKING_SETTING = "cofre.masking_key"
"""PostgreSQL session setting read by the `mask_token` macro (`current_setting('cofre.masking_key')`)."""


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8, ::1 and Unix socket directories: traffic that stays here.

    Names other than `localhost` are not resolved: a DNS answer is not a reason to drop TLS.
    """
    host = host.strip().strip("[]")
    if host.lower() == "localhost" or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint(endpoint: str) -> tuple[str, bool]:
    """`host:port` and whether to use TLS, from `http(s)://host:port` or a bare `host:port`."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    host = parts.hostname or ""
    loopback = is_loopback(host)
    if parts.scheme == "http" and not loopback:
        raise InsecureTransport(
            f"Refusing plain HTTP to {host}: credentials would cross the network in clear text. "
            "Use an https:// endpoint (plain HTTP is allowed only to this machine)."
        )
    secure = parts.scheme == "https" or (parts.scheme == "" and not loopback)
    return parts.netloc, secure


def endpoint_url(endpoint: str) -> str:
    """`endpoint` as the URL a client should use: https unless it is this machine (plain HTTP to another
    host is refused before any secret is read). cofre's one transport policy for the S3 API."""
    netloc, secure = _endpoint(endpoint)
    return f"{'https' if secure else 'http'}://{netloc}"


def _optional(vault: Vault, name: str) -> str | None:
    try:
        return vault.get(name)
    except SecretNotFound:
        return None


def dbt_env(
    vault: Vault,
    target: Literal["duckdb", "postgres"],
    *,
    settings: Mapping[str, str] | None = None,
    inherited_pgoptions: str = "",
) -> dict[str, str]:
    """Variables to add to the dbt process's environment (profiles.yml reads them with `env_var()`).

    Secrets get the DBT_ENV_SECRET_ prefix so dbt keeps them out of its logs and artifacts; the
    caller's non-secret `settings` (host, schema, paths) are merged in and may not use that prefix.
    """
    settings = dict(settings or {})
    if any(name.startswith(DBT_SECRET_PREFIX) for name in settings):
        raise ValueError(
            "Non-secret settings may not use the DBT_ENV_SECRET_ prefix: secrets come from the vault."
        )
    password = (_optional(vault, PG_PASSWORD) or "") if target == "postgres" else None
    key = vault.get(MASKING_KEY)
    return {**settings, **dbt_secret_env(key, password=password, inherited_pgoptions=inherited_pgoptions)}


def masking_key_forms(masking_key: str) -> list[str]:
    """Every form in which the masking key travels (the key and the HMAC pads derived from it): each
    must be redacted wherever a child's output is shown."""
    return [masking_key, *duckdb_hmac_pads(masking_key)]


def dbt_secret_env(
    masking_key: str, *, password: str | None = None, inherited_pgoptions: str = ""
) -> dict[str, str]:
    """The secret variables of one dbt process: the masking key (read by the DuckDB masking plugin) and,
    on PostgreSQL (`password` not None), the password and the PGOPTIONS that set `cofre.masking_key` in
    every session dbt opens, after the caller's `inherited_pgoptions`. Every form of the key is
    registered with the redaction filter first, so no line of the child's output can show it."""
    install_redaction(masking_key_forms(masking_key))
    env = {DBT_MASKING_KEY_VAR: masking_key}
    if password is not None:
        env[DBT_PG_PASSWORD_VAR] = password
        option = f"-c {PG_MASKING_SETTING}={_pgoptions_value(masking_key)}"
        env["PGOPTIONS"] = f"{inherited_pgoptions.strip()} {option}".strip()
    return env


def _pgoptions_value(value: str) -> str:
    """Escape a value for libpq's `options` (space-separated; backslash escapes)."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def spark_conf(*, s3_endpoint: str | None = None) -> dict[str, str]:
    """Non-secret `--conf` values for spark-submit: where the lake is and how to authenticate.

    S3A is told to take its credentials from the environment (see `spark_env`), so no key is ever
    on the spark-submit command line or in the Spark UI's environment tab.
    """
    if s3_endpoint is None:
        return {}
    url = endpoint_url(s3_endpoint)
    return {
        "spark.hadoop.fs.s3a.endpoint": url,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(url.startswith("https:")).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": S3A_ENV_CREDENTIALS,
    }


def spark_env(vault: Vault, *, s3: bool, postgres: bool) -> dict[str, str]:
    """Secrets for the environment of the spark-submit (or local Spark) process.

    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are read by S3A; PGPASSWORD is read by the job itself at
    its edge and handed to the JDBC writer of the gold tables.
    """
    env: dict[str, str] = {}
    if s3:
        env["AWS_ACCESS_KEY_ID"] = vault.get(LAKE_ACCESS_KEY)
        env["AWS_SECRET_ACCESS_KEY"] = vault.get(LAKE_SECRET_KEY)
    if postgres:
        password = _optional(vault, PG_PASSWORD)
        if password is not None:
            env["PGPASSWORD"] = password
    return env


def postgres_connect_kwargs(
    vault: Vault,
    *,
    host: str,
    port: int,
    user: str,
    dbname: str,
    connect_timeout_s: int = 10,
    sslmode: str | None = None,
    sslrootcert: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `psycopg2.connect` (use `security.postgres_tls.connect`): TLS decided by
    `security.postgres_tls.postgres_tls` (verify-full with the configured CA beyond loopback; `sslmode`
    and `sslrootcert` are COFRE_PG_SSLMODE and COFRE_PG_SSLROOTCERT), the password from the vault."""
    from security.postgres_tls import connect_kwargs, postgres_tls

    tls = postgres_tls(host, sslmode=sslmode, sslrootcert=sslrootcert)
    kwargs = connect_kwargs(
        tls, port=port, user=user, dbname=dbname, connect_timeout=connect_timeout_s, application_name="cofre"
    )
    password = _optional(vault, PG_PASSWORD)
    if password is not None:
        kwargs["password"] = password
    return kwargs
