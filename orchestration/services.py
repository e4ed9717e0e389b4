"""The resolved services a run hands to its steps: the lake, the warehouse and the security core.

Built once at the edge from Settings; steps receive them ready to use and never build connections from
configuration on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingestion.lake import Lake, S3Credentials, S3Options
from orchestration.settings import Settings
from security.audit import AuditTrail, default_actor
from security.bootstrap import ensure_embedded_secrets
from security.credentials import _endpoint
from security.reader_access import ensure_reader_role, grant_schema_read
from security.redaction import install_redaction
from security.secret_names import LAKE_ACCESS_KEY, LAKE_SECRET_KEY, PG_PASSWORD, PG_READER_PASSWORD
from security.vault import Vault

if TYPE_CHECKING:  # dlt is imported where a destination is built, after the CLI prepared the process
    from dlt.common.destination import Destination
    from psycopg2.extensions import connection as PgConnection
    from psycopg2.extensions import cursor as PgCursor


@dataclass(frozen=True)
class Warehouse:
    """Where raw, staging, marts live: the embedded DuckDB file or a PostgreSQL database."""

    settings: Settings
    password: str = ""  # empty: the server authenticates otherwise (trust, peer, certificates)

    @property
    def target(self) -> str:
        return self.settings.target

    def dlt_destination(self) -> Destination:
        import dlt

        if self.target == "duckdb":
            self.settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(str(self.settings.warehouse_path))
        self.ensure_postgres_database()
        return dlt.destinations.postgres(credentials=self.postgres_credentials())

    def connect_postgres(self) -> PgConnection:
        import psycopg2

        s = self.settings
        return psycopg2.connect(
            host=s.pg_host,
            port=s.pg_port,
            user=s.pg_user,
            password=self.password or None,
            dbname=s.pg_database,
            connect_timeout=10,
        )

    def ensure_postgres_database(self) -> None:
        """Create the warehouse database on first use, as the embedded default creates its DuckDB file."""
        import psycopg2
        from psycopg2 import sql

        s = self.settings
        admin = psycopg2.connect(
            host=s.pg_host,
            port=s.pg_port,
            user=s.pg_user,
            password=self.password,
            dbname="postgres",
            connect_timeout=10,
        )
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (s.pg_database,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("create database {}").format(sql.Identifier(s.pg_database)))
        finally:
            admin.close()

    def postgres_credentials(self) -> dict[str, Any]:
        s = self.settings
        return {
            "drivername": "postgresql",
            "host": s.pg_host,
            "port": s.pg_port,
            "username": s.pg_user,
            "password": self.password,
            "database": s.pg_database,
        }

    def describe(self) -> str:
        """Where the warehouse is, for people: never includes a password."""
        if self.target == "duckdb":
            return str(self.settings.warehouse_path)
        s = self.settings
        return f"postgresql://{s.pg_user}@{s.pg_host}:{s.pg_port}/{s.pg_database}"


@dataclass(frozen=True)
class Services:
    lake: Lake
    warehouse: Warehouse
    vault: Vault
    audit: AuditTrail

    def grant_reader(self, cursor: PgCursor, grants: Mapping[str, Iterable[str] | None]) -> None:
        """Let the dashboard's and Grafana's read-only role (created on first use, its password from the
        vault) read, per schema of `grants`, those tables (all when None), in the cursor's transaction.
        The role is checked and its password set once per call; each schema's grant is audited."""
        role = self.warehouse.settings.pg_reader_user
        password = self.vault.get(PG_READER_PASSWORD) if PG_READER_PASSWORD in self.vault else None
        ensure_reader_role(cursor, role, password)
        for schema, listed in grants.items():
            tables = None if listed is None else tuple(listed)
            grant_schema_read(cursor, role, schema, tables)
            self.audit.record(
                "warehouse.grant",
                target=f"{self.warehouse.describe()}#{schema}",
                details={
                    "role": role,
                    "privilege": "select",
                    "tables": "all" if tables is None else sorted(tables),
                },
            )


def vault_key(settings: Settings) -> str | None:
    return settings.vault_key.get_secret_value() if settings.vault_key is not None else None


def open_vault(settings: Settings) -> Vault:
    """The vault of these settings: key from COFRE_VAULT_KEY if set, else from the 0600 key file."""
    return Vault(settings.vault_path, key=vault_key(settings), key_file=settings.vault_key_file)


def build_services(settings: Settings, *, actor: str = "runner") -> Services:
    """Open (on the first run of the embedded default: create) the vault, attach the audit trail so every
    secret read is an event, feed dlt from the vault, and redact every secret value from the logs."""
    if not settings.vault_path.exists():
        key = vault_key(settings)
        Vault.create(settings.vault_path, key=key, key_file=None if key else settings.vault_key_file)
    vault = open_vault(settings)
    ensure_embedded_secrets(vault)
    audit = AuditTrail.for_vault(settings.audit_path, vault, actor=f"{actor}:{default_actor()}")
    from security.dlt_provider import register_vault_provider

    register_vault_provider(vault)
    install_redaction(vault.secret_values())
    password = vault.get(PG_PASSWORD) if settings.target == "postgres" and PG_PASSWORD in vault else ""
    return Services(
        lake=build_lake(settings, vault), warehouse=Warehouse(settings, password), vault=vault, audit=audit
    )


def build_lake(settings: Settings, vault: Vault) -> Lake:
    """The lake of these settings. On S3, the access key pair is read from the vault only when a
    connection is first opened (each read is then a `secret.read` audit event), and plain HTTP is
    refused unless the endpoint is this machine."""
    if not settings.lake_location.startswith("s3://"):
        return Lake.from_url(settings.lake_location, cold_url=settings.cold_url)
    endpoint = settings.s3_endpoint_url
    if endpoint is not None:
        # The one transport policy of cofre (TLS unless loopback), checked before any secret is read.
        netloc, secure = _endpoint(endpoint)
        endpoint = f"{'https' if secure else 'http'}://{netloc}"

    def credentials() -> S3Credentials:
        return S3Credentials(vault.get(LAKE_ACCESS_KEY), vault.get(LAKE_SECRET_KEY))

    return Lake.from_url(
        settings.lake_location,
        cold_url=settings.cold_url,
        s3=S3Options(credentials=credentials, endpoint_url=endpoint, region=settings.s3_region),
    )
