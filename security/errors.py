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
