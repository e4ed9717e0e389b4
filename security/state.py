"""Opening a state directory safely: its key and anchor live outside it, and only its owner can read it.

A state directory (`$COFRE_HOME`) holds the vault, the audit trail, the lake, the warehouse. What would
let a copy of it be read or rolled back does not live there:

- **The key file** is `<config>/cofre/keys/<state id>.key` (`<config>` is `$XDG_CONFIG_HOME`, else
  `~/.config` of this user), unless the key is given explicitly (`COFRE_VAULT_KEY_FILE` as `key_file`, or
  `COFRE_VAULT_KEY` as `key`). The state id is a random id written once in `<state>/state-id`, so each
  state directory has its own key and a state directory copied alone to another place (another user, a
  backup, another machine) finds no key. A key file inside the state directory is refused; one left there
  by an older cofre (`<state>/vault/vault.key`) is moved out at open and the move is an audit event.
- **The anchor** (security/anchor.py) is `<config>/cofre/anchors/<state id>.json`: the highest vault
  generation and the last audit event the state reached, so a rolled-back vault or a deleted trail is
  refused. A vault older than the anchor is refused with `VaultRolledBack` and a `vault.rollback_refused`
  audit event.
- **Permissions.** The state directory must belong to this user; if others can read or enter it (say it
  was created 0755 by hand) it is set to 0700 at open and the fix is an audit event. Fixing rather than
  refusing: the directory is ours, the fix closes the exposure at once, and refusing would leave it open
  until someone acts. Files and directories cofre's libraries create afterwards are private once the
  process calls `restrict_umask()` (the CLI does it first thing).

Nothing here reads environment variables: the caller passes `config_home` (see `default_config_home`),
`key` and `key_file` from its settings.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from security.anchor import StateAnchor
from security.audit import AuditTrail
from security.bootstrap import ensure_embedded_secrets
from security.errors import (
    CofreSecurityError,
    KeyFileConflict,
    UnsafeKeyFile,
    UnsafeStateDirectory,
    VaultAlreadyExists,
    VaultNotInitialized,
    VaultRolledBack,
)
from security.files import (
    DEFAULT_LOCK_TIMEOUT_S,
    PRIVATE_DIR_MODE,
    atomic_write,
    ensure_private_dir,
    held,
    private_lock,
)
from security.keys import check_private_file, decode_b64, parse_key_material
from security.secret_names import AUDIT_HMAC_KEY
from security.vault import Vault

STATE_ID_FILE = "state-id"
VAULT_FILE = Path("vault") / "vault.json"
AUDIT_FILE = Path("audit") / "audit.jsonl"
"""Where the vault and the audit trail live in a state directory: the one definition (Settings uses it)."""
LEGACY_KEY_FILE = Path("vault") / "vault.key"
PRIVATE_UMASK = 0o077


def default_config_home(environ: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME` when set to an absolute path (the XDG rule), else `~/.config` of this user,
    whose home comes from the password database."""
    value = environ.get("XDG_CONFIG_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(pwd.getpwuid(os.geteuid()).pw_dir) / ".config"


@dataclass(frozen=True)
class StateLayout:
    """Where the files of one state directory are, inside it and outside it."""

    home: Path
    state_id: str
    key_file: Path
    anchor_path: Path
    explicit_key_file: bool = False
    """True when the key file was given (COFRE_VAULT_KEY_FILE): its directory is then not cofre's to
    create or tighten (a Docker secrets mount belongs to root), only the file itself is checked."""

    @property
    def vault_path(self) -> Path:
        return self.home / VAULT_FILE

    @property
    def audit_path(self) -> Path:
        return self.home / AUDIT_FILE

    @property
    def legacy_key_file(self) -> Path:
        return self.home / LEGACY_KEY_FILE


@dataclass(frozen=True)
class OpenedState:
    """A state directory opened by `open_state`: its vault, its audit trail (None until the vault holds
    the audit key) and the names of the audit events opening it recorded (fixes, migrations)."""

    layout: StateLayout
    vault: Vault
    audit: AuditTrail | None
    anchor: StateAnchor
    events: tuple[str, ...]


def restrict_umask() -> int:
    """Make every file and directory this process creates from now on private (umask 077: files 0600,
    directories 0700), whichever library creates them (DuckDB, pyarrow, dlt). Returns the old umask.
    Process-wide, so it belongs at the edge: the CLI and DAG files call it before any work."""
    return os.umask(PRIVATE_UMASK)


def harden_state_dir(home: Path, *, create: bool = False) -> int | None:
    """Check that `home` is this user's directory and nobody else can read or enter it.

    Creates it 0700 when `create`. A directory belonging to another user is refused
    (`UnsafeStateDirectory`): its owner can read and replace anything in it. A directory of ours that
    others can read or enter is set to 0700; the old mode is returned so the caller records the fix (what
    was readable before may have been copied already), None when nothing needed fixing.
    """
    home = Path(home)
    if create:
        ensure_private_dir(home)
    info = home.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDirectory(f"The state directory {home} is not a directory.")
    if info.st_uid != os.geteuid():
        raise UnsafeStateDirectory(
            f"The state directory {home} belongs to user id {info.st_uid}, not to this user "
            f"({os.geteuid()}): its owner can read and replace the vault and the audit trail. "
            "Use a state directory of your own (COFRE_HOME)."
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & ~PRIVATE_DIR_MODE:
        os.chmod(home, PRIVATE_DIR_MODE)
        return mode
    return None


def _private_config_dir(path: Path) -> None:
    """A directory of the key or anchor: created 0700, ours, and closed to others (fixed if it was not)."""
    ensure_private_dir(path)
    info = path.stat()
    if info.st_uid != os.geteuid():
        raise UnsafeStateDirectory(
            f"The directory {path}, which holds vault keys, belongs to user id {info.st_uid}, not to this "
            "user: its owner can read the keys. Point XDG_CONFIG_HOME (or COFRE_VAULT_KEY_FILE) at a "
            "directory of your own."
        )
    if stat.S_IMODE(info.st_mode) & ~PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)


def read_state_id(home: Path, *, create: bool) -> str | None:
    """The random id of the state directory `home`, written on first use when `create`."""
    path = Path(home) / STATE_ID_FILE
    for _attempt in range(2):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            if not create:
                return None
            with contextlib.suppress(VaultAlreadyExists):  # another process wrote it first: read theirs
                atomic_write(path, (secrets.token_hex(16) + "\n").encode("ascii"), overwrite=False)
            continue
        if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
            raise UnsafeStateDirectory(
                f"{path} is not a cofre state id (32 hex digits). Restore it from a backup of the state "
                "directory: it names the key and the anchor of this state."
            )
        return text
    raise UnsafeStateDirectory(f"Could not create {path}.")


def locate_state(home: Path, *, config_home: Path, key_file: Path | None = None) -> StateLayout:
    """Where the key and the anchor of the state directory `home` are; writes its id on first use.

    `key_file` is an explicit key file (COFRE_VAULT_KEY_FILE); it must not be inside the state directory,
    where every copy and backup of the state would carry it.
    """
    home = Path(home)
    state_id = read_state_id(home, create=True)
    assert state_id is not None
    cofre_config = Path(config_home) / "cofre"
    explicit = key_file is not None
    key_file = Path(key_file) if key_file is not None else cofre_config / "keys" / f"{state_id}.key"
    if key_file.resolve().is_relative_to(home.resolve()):
        raise UnsafeKeyFile(
            f"The key file {key_file} is inside the state directory {home}: any copy or backup of the "
            "state directory would carry the key that decrypts it. Keep the key file elsewhere "
            "(unset COFRE_VAULT_KEY_FILE to use the per-user default)."
        )
    return StateLayout(
        home=home,
        state_id=state_id,
        key_file=key_file,
        anchor_path=cofre_config / "anchors" / f"{state_id}.json",
        explicit_key_file=explicit,
    )


def migrate_key_file(layout: StateLayout, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> bool:
    """Move a key file left inside the state directory by an older cofre to `layout.key_file`.

    Under the vault lock: the key is checked (a private regular file holding key material), written to
    its new place (never over an existing file), and only then removed from the state directory. If a
    different key file is already at the new place, nothing is moved (`KeyFileConflict`). True if a key
    file was moved (the caller records it), False if there was none.
    """
    legacy = layout.legacy_key_file
    if not os.path.lexists(legacy):
        return False
    ensure_private_dir(layout.vault_path.parent)
    with held(private_lock(layout.vault_path), lock_timeout_s):
        if not os.path.lexists(legacy):
            return False  # another process moved it meanwhile
        check_private_file(legacy, "key file")
        data = legacy.read_bytes()
        parse_key_material(data.decode("ascii", errors="replace"), f"key file {legacy}")
        if not layout.explicit_key_file:
            _private_config_dir(layout.key_file.parent)
        if layout.key_file.exists():
            if layout.key_file.read_bytes() != data:
                raise KeyFileConflict(
                    f"There is a key file inside the state directory ({legacy}) and a different one at "
                    f"{layout.key_file}. cofre moves keys out of the state directory but will not choose "
                    "between two keys: find out which one opens the vault (`cofre vault verify` with "
                    "COFRE_VAULT_KEY_FILE set to each), keep it and remove the other."
                )
        else:
            atomic_write(layout.key_file, data, overwrite=False)
        if layout.key_file.read_bytes() != data:
            raise KeyFileConflict(f"{layout.key_file} did not read back as written; {legacy} was kept.")
        legacy.unlink()
        fd = os.open(legacy.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return True


def open_state(
    home: Path,
    *,
    config_home: Path,
    actor: str,
    key: str | None = None,
    key_file: Path | None = None,
    create: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> OpenedState:
    """Open (with `create`: create on first use) the state directory `home` with its vault and audit trail.

    In order: the directory is checked and made private; its key file is located outside it (a key file
    left inside is moved out); its anchor is read (created on first use); the vault is opened against the
    anchor (an older vault is refused with `VaultRolledBack`, recorded as `vault.rollback_refused`); with
    `create`, the embedded secrets are generated; the audit trail is opened against the anchor; the fixes
    made on the way are recorded as audit events. The key comes from `key` (COFRE_VAULT_KEY) when given,
    else from `key_file` (COFRE_VAULT_KEY_FILE), else from the per-user default under `config_home`.
    """
    home = Path(home)
    vault_path = home / VAULT_FILE
    if not create and not vault_path.exists():
        raise VaultNotInitialized(vault_path)
    old_mode = harden_state_dir(home, create=create)
    layout = locate_state(home, config_home=config_home, key_file=key_file)
    pending: list[tuple[str, str, dict[str, Any]]] = []
    if old_mode is not None:
        pending.append(
            ("state.permissions_fixed", str(home), {"old_mode": f"{old_mode:04o}", "new_mode": "0700"})
        )
    if migrate_key_file(layout, lock_timeout_s=lock_timeout_s):
        pending.append(("vault.key_moved", str(layout.key_file), {"from": str(layout.legacy_key_file)}))
    _private_config_dir(layout.anchor_path.parent)
    if key is None and not layout.explicit_key_file:
        _private_config_dir(layout.key_file.parent)
    anchor = StateAnchor(layout.anchor_path, layout.state_id, lock_timeout_s=lock_timeout_s)
    if not anchor.exists():
        if vault_path.exists():  # a state from before anchors, or an anchor deleted to accept a restore
            pending.append(("state.anchor_created", str(layout.anchor_path), {}))
        anchor.create()
    vault_key_file = None if key is not None else layout.key_file
    try:
        if create and not vault_path.exists():
            vault = Vault.create(
                vault_path, key=key, key_file=vault_key_file, anchor=anchor, lock_timeout_s=lock_timeout_s
            )
        else:
            vault = Vault(
                vault_path, key=key, key_file=vault_key_file, anchor=anchor, lock_timeout_s=lock_timeout_s
            )
    except VaultRolledBack as exc:
        _record_rollback(layout, anchor, exc, key=key, key_file=vault_key_file, actor=actor)
        raise
    if create:
        ensure_embedded_secrets(vault)
    trail = AuditTrail.for_vault(layout.audit_path, vault, actor=actor) if AUDIT_HMAC_KEY in vault else None
    if trail is not None:
        for action, target, details in pending:
            trail.record(action, target=target, details=details)
    return OpenedState(
        layout=layout,
        vault=vault,
        audit=trail,
        anchor=anchor,
        events=tuple(action for action, _, _ in pending),
    )


def _record_rollback(
    layout: StateLayout,
    anchor: StateAnchor,
    exc: VaultRolledBack,
    *,
    key: str | None,
    key_file: Path | None,
    actor: str,
) -> None:
    """Record the refusal in the audit trail. The audit key is read from the refused vault (it is
    authentic, only old) without serving any consumer; if the trail cannot take the event (it was
    rolled back or deleted too), the refusal still stands."""
    try:
        old = Vault(layout.vault_path, key=key, key_file=key_file)
        trail = AuditTrail(layout.audit_path, decode_b64(old.get(AUDIT_HMAC_KEY)), actor=actor, anchor=anchor)
        trail.record(
            "vault.rollback_refused",
            target=str(layout.vault_path),
            outcome="refused",
            details={"generation": exc.generation, "anchored_generation": exc.anchored},
        )
    except CofreSecurityError:
        pass
