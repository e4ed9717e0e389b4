"""The resolved services a run hands to its steps: the lake, the warehouse and the security core.

Built once at the edge from Settings; steps receive them ready to use and never build connections from
configuration on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingestion.lake import Lake, S3Credentials, S3Options
from orchestration.settings import Settings
from orchestration.warehouse.connection import Warehouse
from security.audit import AuditTrail, default_actor
from security.credentials import endpoint_url
from security.errors import SecretNotFound
from security.reader_access import ensure_reader_role, grant_schema_read
from security.redaction import install_redaction
from security.secret_names import (
    AUDIT_HMAC_KEY,
    LAKE_ACCESS_KEY,
    LAKE_SECRET_KEY,
    PG_PASSWORD,
    PG_READER_PASSWORD,
)
from security.state import OpenedState, open_state
from security.vault import Vault

if TYPE_CHECKING:
    from psycopg2.extensions import cursor as PgCursor


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


def open_cofre_state(settings: Settings, *, actor: str, create: bool = False) -> OpenedState:
    """The state directory of these settings, opened by `security.state.open_state`: made private, its
    key found outside it (COFRE_VAULT_KEY, COFRE_VAULT_KEY_FILE, or the per-user key file), its vault and
    audit trail checked against the anchor kept outside it. `create`: on first use, create the vault and
    its generated secrets (the embedded default's first run)."""
    return open_state(
        settings.home,
        config_home=settings.config_home,
        actor=f"{actor}:{default_actor()}",
        key=vault_key(settings),
        key_file=settings.vault_key_file,
        create=create,
    )


def open_vault(settings: Settings, *, actor: str = "cli") -> Vault:
    """The vault of these settings; like every vault cofre opens, its reads are `secret.read` events of
    `actor` (the trail is attached by open_state)."""
    return open_cofre_state(settings, actor=actor).vault


def open_audited(settings: Settings, *, actor: str, create: bool = False) -> tuple[Vault, AuditTrail]:
    """The vault with its audit trail attached, so every read through it is a `secret.read` event;
    `actor` says which part of cofre acts (cli, runner, airflow, dashboard), the user is added."""
    state = open_cofre_state(settings, actor=actor, create=create)
    if state.audit is None:
        raise SecretNotFound(AUDIT_HMAC_KEY)
    return state.vault, state.audit


def build_services(settings: Settings, *, actor: str = "runner") -> Services:
    """Open (on the first run of the embedded default: create) the vault, attach the audit trail so every
    secret read is an event, feed dlt from the vault, and redact every secret value from the logs."""
    vault, audit = open_audited(settings, actor=actor, create=True)
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
    if endpoint is not None:  # TLS unless loopback, checked before any secret is read
        endpoint = endpoint_url(endpoint)

    def credentials() -> S3Credentials:
        return S3Credentials(vault.get(LAKE_ACCESS_KEY), vault.get(LAKE_SECRET_KEY))

    return Lake.from_url(
        settings.lake_location,
        cold_url=settings.cold_url,
        s3=S3Options(credentials=credentials, endpoint_url=endpoint, region=settings.s3_region),
    )
