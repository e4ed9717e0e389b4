"""The errors of the security core, in one place.

Each message says what happened and what to do about it, and never contains a secret value: these
messages reach terminals, logs and Airflow task logs.
"""

from __future__ import annotations


class CofreSecurityError(Exception):
    """Base of every error raised by the security core, so the CLI can report them in one place."""


class VaultNotInitialized(CofreSecurityError):
    """There is no vault file where one was expected."""

    def __init__(self, path: object) -> None:
        super().__init__(f"No vault at {path}. Create one with `cofre vault init`.")


class VaultAlreadyExists(CofreSecurityError):
    """`init` refuses to overwrite an existing vault or key file: that would destroy every secret."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"{path} already exists; refusing to overwrite it. Use the existing vault, "
            "or move the old vault and key file away first if you really mean to start over."
        )


class VaultLocked(CofreSecurityError):
    """No master key is available, or the key material lacks the version the vault needs."""


class MissingKey(VaultLocked):
    """Neither COFRE_VAULT_KEY nor a key file gives a master key."""

    def __init__(self, key_file: object | None) -> None:
        where = f"there is no key file at {key_file}" if key_file is not None else "no key file was given"
        super().__init__(
            f"No vault key: COFRE_VAULT_KEY is not set and {where}. "
            "Set COFRE_VAULT_KEY, restore the key file, or run `cofre vault init` for a new vault."
        )


class WrongKey(VaultLocked):
    """A key was given but it is not the key this vault was sealed with."""


class InsecurePermissions(CofreSecurityError):
    """A key file is readable or writable by someone other than its owner."""

    def __init__(self, path: object, mode: int, what: str = "Key file") -> None:
        super().__init__(
            f"{what} {path} has permissions {mode:04o}; it must be 0600 (owner read/write only). "
            f"Fix it with `chmod 600 {path}` after checking nobody else has copied it."
        )


class InvalidKeyMaterial(CofreSecurityError):
    """The key file or COFRE_VAULT_KEY is not in a format cofre understands."""


class InvalidSecretName(CofreSecurityError):
    """Entry names are identifiers; anything else is refused so they stay safe in files and logs."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Invalid secret name {name!r}: use 1-128 characters from letters, digits, '_', '-' and '.', "
            "starting with a letter or digit."
        )


class SecretNotFound(CofreSecurityError):
    """The vault has no entry with the requested name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"No secret named {name!r} in the vault. Add it with `cofre vault set {name}`.")
        self.name = name


class IntegrityError(CofreSecurityError):
    """The vault file was altered, truncated, rolled back entry by entry, or is corrupt."""


class LockBusy(CofreSecurityError):
    """Another process held the lock of the vault or the audit trail for too long."""

    def __init__(self, lock_path: object, timeout_s: float) -> None:
        super().__init__(
            f"Could not take the lock {lock_path} within {timeout_s:g} s: another cofre process is "
            "writing or rotating. Retry when it finishes."
        )


class RotationUnavailable(CofreSecurityError):
    """Rotation writes new key versions to a key file, which a key given in the environment lacks."""


class AuditTampered(CofreSecurityError):
    """The audit trail cannot be appended to because its tail or head checkpoint is not intact."""


class SecretInAuditEvent(CofreSecurityError):
    """An audit event would have carried a secret value; the event is refused, not written."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"Refused to record audit event {action!r}: its fields contain the value of a vault secret. "
            "Record the secret's name, never its value."
        )


class InsecureTransport(CofreSecurityError):
    """A credential would travel in clear text to a host that is not on this machine."""


class PostgresTlsNotConfigured(InsecureTransport):
    """A PostgreSQL server beyond loopback, but no CA to check its certificate against, or a weaker
    sslmode than verify-full."""


class PostgresTlsUnavailable(InsecureTransport):
    """TLS is required and the PostgreSQL server offers none: nothing was sent to it."""

    def __init__(self, where: str, sslmode: str) -> None:
        super().__init__(
            f"PostgreSQL at {where} offers no TLS, and cofre requires it (sslmode={sslmode}): the password "
            "and the data would cross the network in clear text, so nothing was sent. Turn TLS on in that "
            "server (ssl = on, ssl_cert_file, ssl_key_file in postgresql.conf) and set COFRE_PG_SSLROOTCERT "
            "to the CA that signed its certificate. Plain connections are allowed only to a server on this "
            "machine (COFRE_PG_SSLMODE=prefer or disable with a loopback COFRE_PG_HOST)."
        )


class PostgresCertificateRejected(InsecureTransport):
    """The PostgreSQL server's certificate is not signed by the configured CA, or not issued for the host
    name cofre connects to: it may be someone in the middle."""

    def __init__(self, where: str, sslrootcert: str | None, detail: str) -> None:
        ca = sslrootcert or "libpq's default (~/.postgresql/root.crt)"
        super().__init__(
            f"The certificate of PostgreSQL at {where} was rejected ({detail}): it is not signed by the CA "
            f"in {ca}, or not issued for that host name. Nothing was sent. If the server is the right one, "
            "set COFRE_PG_SSLROOTCERT to the CA certificate that signed it and COFRE_PG_HOST to a name in "
            "its certificate; otherwise someone may be in the middle."
        )


class VaultRolledBack(IntegrityError):
    """The vault file is older than a generation this state has already seen: it was rolled back."""

    def __init__(self, path: object, generation: int, anchored: int, anchor_path: object) -> None:
        super().__init__(
            f"{path} is at generation {generation}, but this state already reached generation {anchored} "
            f"(recorded in {anchor_path}, outside the state directory): vault.json was replaced by an older "
            "copy, which would bring back old or deleted secrets. Do not use it: put the newest vault.json "
            "back. If you restored an older backup on purpose, delete the anchor file "
            f"{anchor_path} to accept the state as it is now (the next open records that in the audit trail)."
        )
        self.generation = generation
        self.anchored = anchored


class VaultReplaced(IntegrityError):
    """The vault file is not the vault this state was anchored to (deleted and re-created, or swapped)."""


class UnsafeKeyFile(CofreSecurityError):
    """The key file is a symlink, belongs to another user, or sits inside the state directory."""


class KeyFileConflict(CofreSecurityError):
    """An old key file inside the state directory and the key file outside it disagree."""


class UnsafeStateDirectory(CofreSecurityError):
    """The state directory (or the directory of the key file) belongs to another user."""


class ChildEnvironmentError(CofreSecurityError):
    """A child process was about to receive the vault's master key or a malformed variable."""
