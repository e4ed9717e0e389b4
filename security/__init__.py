"""cofre's security core: the vault, key rotation, the audit trail, redaction and credential resolution.

The dlt provider (`security.dlt_provider`) and the Airflow secrets backend (`security.airflow_backend`)
are imported from their modules, so importing this package does not import dlt or Airflow.
"""

from security.anchor import StateAnchor
from security.audit import AuditReport, AuditTrail, default_actor
from security.bootstrap import ensure_embedded_secrets
from security.child_env import child_environment, forget_master_key
from security.credentials import dbt_env, postgres_connect_kwargs, spark_conf, spark_env
from security.errors import (
    AuditTampered,
    ChildEnvironmentError,
    CofreSecurityError,
    InsecurePermissions,
    InsecureTransport,
    IntegrityError,
    InvalidKeyMaterial,
    InvalidSecretName,
    KeyFileConflict,
    LockBusy,
    MissingKey,
    RotationUnavailable,
    SecretInAuditEvent,
    SecretNotFound,
    UnsafeKeyFile,
    UnsafeStateDirectory,
    VaultAlreadyExists,
    VaultLocked,
    VaultNotInitialized,
    VaultReplaced,
    VaultRolledBack,
    WrongKey,
)
from security.redaction import install_redaction, redact
from security.state import OpenedState, default_config_home, open_state, restrict_umask
from security.vault import EntryInfo, RotationReport, Vault, VerifyReport

__all__ = [
    "AuditReport",
    "AuditTampered",
    "AuditTrail",
    "ChildEnvironmentError",
    "CofreSecurityError",
    "EntryInfo",
    "InsecurePermissions",
    "InsecureTransport",
    "IntegrityError",
    "InvalidKeyMaterial",
    "InvalidSecretName",
    "KeyFileConflict",
    "LockBusy",
    "MissingKey",
    "OpenedState",
    "RotationReport",
    "RotationUnavailable",
    "SecretInAuditEvent",
    "SecretNotFound",
    "StateAnchor",
    "UnsafeKeyFile",
    "UnsafeStateDirectory",
    "Vault",
    "VaultAlreadyExists",
    "VaultLocked",
    "VaultNotInitialized",
    "VaultReplaced",
    "VaultRolledBack",
    "VerifyReport",
    "WrongKey",
    "child_environment",
    "dbt_env",
    "default_actor",
    "default_config_home",
    "ensure_embedded_secrets",
    "forget_master_key",
    "install_redaction",
    "open_state",
    "postgres_connect_kwargs",
    "redact",
    "restrict_umask",
    "spark_conf",
    "spark_env",
]
