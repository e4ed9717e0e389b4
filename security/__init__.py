"""cofre's security core: the vault, key rotation, the audit trail, redaction and credential resolution.

The dlt provider (`security.dlt_provider`) and the Airflow secrets backend (`security.airflow_backend`)
are imported from their modules, so importing this package does not import dlt or Airflow.
"""

from security.audit import AuditReport, AuditTrail, default_actor
from security.bootstrap import ensure_embedded_secrets
from security.credentials import dbt_env, postgres_connect_kwargs, s3_client_kwargs, spark_conf, spark_env
from security.errors import (
    AuditTampered,
    CofreSecurityError,
    InsecurePermissions,
    InsecureTransport,
    IntegrityError,
    InvalidKeyMaterial,
    InvalidSecretName,
    LockBusy,
    MissingKey,
    RotationUnavailable,
    SecretInAuditEvent,
    SecretNotFound,
    VaultAlreadyExists,
    VaultLocked,
    VaultNotInitialized,
    WrongKey,
)
from security.redaction import install_redaction, redact
from security.vault import EntryInfo, RotationReport, Vault, VerifyReport

__all__ = [
    "AuditReport",
    "AuditTampered",
    "AuditTrail",
    "CofreSecurityError",
    "EntryInfo",
    "InsecurePermissions",
    "InsecureTransport",
    "IntegrityError",
    "InvalidKeyMaterial",
    "InvalidSecretName",
    "LockBusy",
    "MissingKey",
    "RotationReport",
    "RotationUnavailable",
    "SecretInAuditEvent",
    "SecretNotFound",
    "Vault",
    "VaultAlreadyExists",
    "VaultLocked",
    "VaultNotInitialized",
    "VerifyReport",
    "WrongKey",
    "dbt_env",
    "default_actor",
    "ensure_embedded_secrets",
    "install_redaction",
    "postgres_connect_kwargs",
    "redact",
    "s3_client_kwargs",
    "spark_conf",
    "spark_env",
]
