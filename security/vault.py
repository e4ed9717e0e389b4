"""The encrypted vault file: every credential cofre uses, sealed entry by entry, and its key rotation.

Format (`cofre-vault/1`, one JSON document):

    {"format": "cofre-vault/1", "vault_id": "<16 random bytes>", "generation": 7,
     "key_version": 2, "key_check": "<16 bytes>",
     "entries": {"<name>": {"key_version": 2, "generation": 5, "updated": "<UTC ISO-8601>",
                            "nonce": "<12 bytes>", "ciphertext": "<AES-256-GCM output>"}},
     "mac": "<HMAC-SHA256 of everything above>"}

(binary fields are unpadded base64url). Two layers protect it:
- Each value is sealed with AES-256-GCM under a fresh 96-bit nonce, with associated data naming the vault
  id, the entry name, its key version and its generation (the vault-wide write counter when it was
  sealed). An entry moved to another name, vault, key version or generation fails to decrypt.
- The manifest MAC covers the whole document, so a deleted, replayed, reordered or edited entry, or a
  truncated file, fails when the vault is opened, before any value is used.

Keys come from keys.py: the data key, the manifest key and the key check are derived with HKDF from the
master key of the vault's key version. The key check tells "wrong key" apart from "tampered file".
Every operation takes the vault lock and re-reads the key file and the vault, so concurrent processes
and a rotation in another process are seen at once. An older, intact copy of the whole file cannot be told
from the file alone; with a `StateAnchor` (security/anchor.py), kept outside the state directory, it is
refused (`VaultRolledBack`). Rolling back the anchor too is beyond the threat model (docs/security.md).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security.anchor import StateAnchor
from security.errors import (
    IntegrityError,
    InvalidSecretName,
    MissingKey,
    RotationUnavailable,
    SecretNotFound,
    VaultAlreadyExists,
    VaultLocked,
    VaultNotInitialized,
    VaultReplaced,
    WrongKey,
)
from security.files import DEFAULT_LOCK_TIMEOUT_S, atomic_write, ensure_private_dir, held, private_lock
from security.keys import (
    KeyMaterial,
    Keyring,
    decode_b64,
    derive_key,
    encode_b64,
    load_key_file,
    parse_key_material,
    write_key_file,
)

VAULT_FORMAT = "cofre-vault/1"
NONCE_BYTES = 12
VAULT_ID_BYTES = 16
KEY_CHECK_BYTES = 16

ROTATION_STEPS = (
    "new_key_staged",
    "new_key_added",
    "vault_staged",
    "vault_rewritten",
    "old_key_retire_staged",
    "old_key_retired",
)
"""Moments of a rotation, in order, reported to `rotate(on_step=...)`. "*_staged": a durable temporary
file exists but the target still holds the old content; the others: the target was just replaced."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_ENTRY_FIELDS = {"key_version": int, "generation": int, "updated": str, "nonce": str, "ciphertext": str}
_DOC_FIELDS = {
    "format": str,
    "vault_id": str,
    "generation": int,
    "key_version": int,
    "key_check": str,
    "entries": dict,
    "mac": str,
}


@dataclass(frozen=True)
class EntryInfo:
    """What may be shown about an entry: never its value."""

    name: str
    key_version: int
    generation: int
    updated: str


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    key_version: int
    retired_key_versions: tuple[int, ...] = ()
    """Versions the key material still holds besides the vault's own: left by an interrupted rotation
    or kept on purpose. Each one still opens any older copy of vault.json sealed with it."""

    @property
    def warning(self) -> str | None:
        if not self.retired_key_versions:
            return None
        versions = ", ".join(str(v) for v in self.retired_key_versions)
        return (
            f"The key material still holds retired key version(s) {versions} besides the vault's version "
            f"{self.key_version}: with any older copy of vault.json (a backup) they still decrypt the "
            "secrets of that time. Purge them once no backup you keep needs them (`cofre vault purge-keys`)."
        )


@dataclass(frozen=True)
class RotationReport:
    old_version: int
    new_version: int
    entries: int


@dataclass(frozen=True)
class _Opened:
    """A vault document that passed its key check and MAC, with the master keys that opened it."""

    doc: dict[str, Any]
    masters: dict[int, bytes]

    @property
    def vault_id(self) -> bytes:
        return decode_b64(self.doc["vault_id"])


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def validate_name(name: str) -> str:
    """Entry names are plain identifiers so they are safe in file names, logs and audit events."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidSecretName(str(name))
    return name


def _key_check(master: bytes, vault_id: bytes, version: int) -> str:
    return encode_b64(derive_key(master, vault_id, "check", version)[:KEY_CHECK_BYTES])


def _manifest_mac(doc: dict[str, Any], master: bytes) -> str:
    version = doc["key_version"]
    key = derive_key(master, decode_b64(doc["vault_id"]), "manifest", version)
    body = {k: v for k, v in doc.items() if k != "mac"}
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def _associated_data(vault_id: bytes, name: str, key_version: int, generation: int) -> bytes:
    return _canonical(
        {
            "format": VAULT_FORMAT,
            "vault_id": encode_b64(vault_id),
            "name": name,
            "key_version": key_version,
            "generation": generation,
        }
    )


def _seal(
    master: bytes, vault_id: bytes, name: str, version: int, generation: int, value: str, updated: str
) -> dict[str, Any]:
    nonce = os.urandom(NONCE_BYTES)
    aead = AESGCM(derive_key(master, vault_id, "entries", version))
    ciphertext = aead.encrypt(
        nonce, value.encode("utf-8"), _associated_data(vault_id, name, version, generation)
    )
    return {
        "key_version": version,
        "generation": generation,
        "updated": updated,
        "nonce": encode_b64(nonce),
        "ciphertext": encode_b64(ciphertext),
    }


def _unseal(opened: _Opened, name: str) -> str:
    entry = opened.doc["entries"][name]
    version = entry["key_version"]
    aead = AESGCM(derive_key(opened.masters[version], opened.vault_id, "entries", version))
    try:
        plaintext = aead.decrypt(
            decode_b64(entry["nonce"]),
            decode_b64(entry["ciphertext"]),
            _associated_data(opened.vault_id, name, version, entry["generation"]),
        )
    except InvalidTag:
        raise IntegrityError(
            f"Entry {name!r} failed authentication: it was edited, copied from another entry or replayed "
            "from an older vault. Stop using this vault file and restore it from a backup."
        ) from None
    return plaintext.decode("utf-8")


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    """The vault document, with every field of the expected type, or IntegrityError."""
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != VAULT_FORMAT:
            raise ValueError("not a cofre-vault/1 document")
        for field, kind in _DOC_FIELDS.items():
            if not isinstance(doc[field], kind):
                raise ValueError(f"field {field!r} has the wrong type")
        for name, entry in doc["entries"].items():
            for field, kind in _ENTRY_FIELDS.items():
                if not isinstance(entry[field], kind):
                    raise ValueError(f"entry {name!r} field {field!r} has the wrong type")
            if len(decode_b64(entry["nonce"])) != NONCE_BYTES:
                raise ValueError(f"entry {name!r} has a malformed nonce")
            if entry["key_version"] != doc["key_version"]:  # rotation rewrites every entry at once
                raise ValueError(f"entry {name!r} is not sealed with the vault's key version")
        if len(decode_b64(doc["vault_id"])) != VAULT_ID_BYTES:
            raise ValueError("malformed vault id")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise IntegrityError(
            f"{path} is not an intact vault file ({exc}): it was truncated, edited or corrupted. "
            "Do not write to it; restore it from a backup and run `cofre vault verify`."
        ) from None
    return doc


def _authenticate(doc: dict[str, Any], masters: dict[int, bytes], path: Path) -> _Opened:
    version = doc["key_version"]
    master = masters[version]
    if not hmac.compare_digest(_key_check(master, decode_b64(doc["vault_id"]), version), doc["key_check"]):
        raise WrongKey(
            f"The key does not open {path} (key version {version}): it belongs to another vault or an older "
            "key version, or the vault header was altered. Use this vault's key (COFRE_VAULT_KEY or its "
            "key file)."
        )
    if not hmac.compare_digest(_manifest_mac(doc, master), doc["mac"]):
        raise IntegrityError(
            f"{path} failed its integrity check: an entry was edited, deleted, replayed or swapped. "
            "Do not write to it; restore it from a backup and run `cofre vault verify`."
        )
    return _Opened(doc=doc, masters=masters)


class Vault:
    """An opened vault: the file, where its key comes from, and an optional hook on every secret read.

    The key is `key` (the text of COFRE_VAULT_KEY: a bare master key or the key file's JSON) when given,
    otherwise the keyring in `key_file`, whose mode must be exactly 0600. The library never looks for
    keys by itself; the CLI or DAG file passes them from the settings. `on_read(name)` runs after each
    successful `get` so the caller can record a `secret.read` audit event (it sees the name, never the
    value); if it raises, the read fails, so an unrecordable read is not a silent one.
    """

    def __init__(
        self,
        path: Path,
        *,
        key: str | None = None,
        key_file: Path | None = None,
        on_read: Callable[[str], None] | None = None,
        anchor: StateAnchor | None = None,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        if key is None and key_file is None:
            raise MissingKey(None)
        self.path = Path(path)
        self.key_file = Path(key_file) if key_file is not None and key is None else None
        self._key_text = key
        self._key_source = "COFRE_VAULT_KEY" if key is not None else f"the key file {self.key_file}"
        self.on_read = on_read
        self.anchor = anchor
        self._lock = private_lock(self.path)
        self._lock_timeout_s = lock_timeout_s
        with self._locked():
            self._load()  # fail now, not at first use: missing vault, wrong key, tampered file

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        key: str | None = None,
        key_file: Path | None = None,
        anchor: StateAnchor | None = None,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> Vault:
        """Create an empty vault, and a new 0600 key file unless `key` is given; never overwrite either.

        With an `anchor` that already records a vault, creation is refused: the state had a vault that
        is now missing, and a new one would silently replace every secret (and the audit key)."""
        path = Path(path)
        ensure_private_dir(path.parent)
        with held(private_lock(path), lock_timeout_s):
            if path.exists():
                raise VaultAlreadyExists(path)
            recorded = anchor.read() if anchor is not None else None
            if anchor is not None and recorded is not None and recorded.vault_id is not None:
                raise VaultReplaced(
                    f"No vault at {path}, but the anchor {anchor.path} records vault {recorded.vault_id} at "
                    f"generation {recorded.vault_generation}: the vault of this state was deleted. Restore "
                    f"vault.json from a backup; if you really mean to start over, delete {anchor.path} first."
                )
            if key is not None:
                material = parse_key_material(key)
                version = material.active if isinstance(material, Keyring) else 1
                master = material.keys[version] if isinstance(material, Keyring) else material
            elif key_file is not None:
                key_file = Path(key_file)
                if key_file.exists():
                    raise VaultAlreadyExists(key_file)
                ensure_private_dir(key_file.parent)
                keyring = Keyring.new()
                write_key_file(key_file, keyring, overwrite=False)
                version, master = keyring.active, keyring.keys[keyring.active]
            else:
                raise MissingKey(None)
            vault_id = os.urandom(VAULT_ID_BYTES)
            doc: dict[str, Any] = {
                "format": VAULT_FORMAT,
                "vault_id": encode_b64(vault_id),
                "generation": 0,
                "key_version": version,
                "key_check": _key_check(master, vault_id, version),
                "entries": {},
            }
            atomic_write(path, _serialize(doc, master), overwrite=False)
            if anchor is not None:
                anchor.advance_vault(doc["vault_id"], doc["generation"])
        return cls(path, key=key, key_file=key_file, anchor=anchor, lock_timeout_s=lock_timeout_s)

    # -- reading -------------------------------------------------------------------------------------

    def get(self, name: str) -> str:
        """The value of `name`, reported to `on_read` (name only) before it is returned."""
        validate_name(name)
        with self._locked():
            opened = self._load()
            if name not in opened.doc["entries"]:
                raise SecretNotFound(name)
            value = _unseal(opened, name)
        if self.on_read is not None:
            self.on_read(name)
        return value

    def __contains__(self, name: object) -> bool:
        with self._locked():
            return name in self._load().doc["entries"]

    def entries(self) -> list[EntryInfo]:
        """Name, key version, generation and update time of every entry, sorted by name; no values."""
        with self._locked():
            entries = self._load().doc["entries"]
        return [
            EntryInfo(name, e["key_version"], e["generation"], e["updated"])
            for name, e in sorted(entries.items())
        ]

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def secret_values(self) -> frozenset[str]:
        """Every value in the vault, for the guards that must recognise them (redaction, audit).

        This is not a consumer read, so `on_read` is not called; never print or pass these values on.
        """
        with self._locked():
            opened = self._load()
            return frozenset(_unseal(opened, name) for name in opened.doc["entries"])

    def verify(self) -> VerifyReport:
        """Check the key, the manifest MAC and every entry's authentication tag; raise on any failure."""
        with self._locked():
            opened = self._load()
            for name in opened.doc["entries"]:
                _unseal(opened, name)
        version = opened.doc["key_version"]
        return VerifyReport(
            entries=len(opened.doc["entries"]),
            key_version=version,
            retired_key_versions=tuple(sorted(v for v in opened.masters if v != version)),
        )

    def purge_retired_keys(self) -> tuple[int, ...]:
        """Remove from the key file every key version but the one the vault is sealed with; return the
        versions removed (none: nothing is written). The vault is opened and every entry checked with the
        remaining key first, so a purge never leaves a vault that cannot be opened."""
        if self.key_file is None:
            raise RotationUnavailable(
                "Retired keys are purged from the key file, and this vault was opened with COFRE_VAULT_KEY: "
                "remove the old versions from the key material you keep in your secret store instead."
            )
        with self._locked():
            opened = self._load()
            version = opened.doc["key_version"]
            retired = tuple(sorted(v for v in opened.masters if v != version))
            if not retired:
                return ()
            remaining = {version: opened.masters[version]}
            kept = _Opened(doc=opened.doc, masters=remaining)
            for name in opened.doc["entries"]:
                _unseal(kept, name)
            keyring = _as_keyring(load_key_file(self.key_file), version).only(version)
            write_key_file(self.key_file, keyring, overwrite=True)
        return retired

    # -- writing -------------------------------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """Add or replace `name`; the entry gets the next generation so an older copy cannot be replayed."""
        self._write_entry(name, value, replace=True)

    def set_default(self, name: str, value: str) -> bool:
        """Add `name` only if absent, atomically with respect to other processes; True if it was added."""
        return self._write_entry(name, value, replace=False)

    def _write_entry(self, name: str, value: str, *, replace: bool) -> bool:
        validate_name(name)
        if not isinstance(value, str) or value == "":
            raise ValueError("A secret value must be a non-empty string.")
        with self._locked():
            opened = self._load()
            doc = opened.doc
            if not replace and name in doc["entries"]:
                return False
            version = doc["key_version"]
            doc["generation"] += 1
            doc["entries"][name] = _seal(
                opened.masters[version], opened.vault_id, name, version, doc["generation"], value, _now()
            )
            atomic_write(self.path, _serialize(doc, opened.masters[version]))
            self._advance_anchor(doc)
        return True

    def delete(self, name: str) -> None:
        validate_name(name)
        with self._locked():
            opened = self._load()
            doc = opened.doc
            if name not in doc["entries"]:
                raise SecretNotFound(name)
            del doc["entries"][name]
            doc["generation"] += 1
            atomic_write(self.path, _serialize(doc, opened.masters[doc["key_version"]]))
            self._advance_anchor(doc)

    def rotate(self, on_step: Callable[[str], None] | None = None) -> RotationReport:
        """Re-encrypt every entry under a new key version, then retire the old key.

        Each step replaces one file atomically, in an order where every intermediate state opens and
        holds every entry (the vault always matches a key version present in the key file):
        1. the key file gains the new version (old still there, vault untouched);
        2. the vault is rewritten whole under the new version, after checking in memory that every
           entry decrypts with the new key alone, then read back from disk and checked again;
        3. the key file keeps only the new version.
        A kill between 1 and 2 leaves an unused new key, a kill between 2 and 3 an unused old key; the
        next rotation discards such leftovers, since it keeps only the version it creates.
        """
        report = on_step or (lambda _step: None)
        if self.key_file is None:
            raise RotationUnavailable(
                "Rotation writes the new key version to the key file, and this vault was opened with "
                "COFRE_VAULT_KEY. Put that key in the 0600 key file, unset COFRE_VAULT_KEY, rotate, then "
                "store the new key file's content in your secret store (docs/runbooks/rotate-keys.md)."
            )
        with self._locked():
            opened = self._load()
            values = {name: _unseal(opened, name) for name in opened.doc["entries"]}
            old_version = opened.doc["key_version"]
            staged, new_version = _as_keyring(load_key_file(self.key_file), old_version).with_new_version()
            write_key_file(
                self.key_file, staged, overwrite=True, before_rename=lambda: report("new_key_staged")
            )
            report("new_key_added")

            master = staged.keys[new_version]
            data = _serialize(_resealed(opened, values, new_version, master), master)
            _check_all_open(_authenticate(_parse(data, self.path), {new_version: master}, self.path), values)
            atomic_write(self.path, data, before_rename=lambda: report("vault_staged"))
            report("vault_rewritten")

            _check_all_open(self._load(), values)  # also moves the anchor to the new generation
            write_key_file(
                self.key_file,
                staged.only(new_version),
                overwrite=True,
                before_rename=lambda: report("old_key_retire_staged"),
            )
            report("old_key_retired")
        return RotationReport(old_version=old_version, new_version=new_version, entries=len(values))

    # -- internals -----------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with held(self._lock, self._lock_timeout_s):
            yield

    def _advance_anchor(self, doc: dict[str, Any]) -> None:
        """After a write is durable: the anchor outside the state directory learns the new generation."""
        if self.anchor is not None:
            self.anchor.advance_vault(doc["vault_id"], doc["generation"])

    def _material(self) -> KeyMaterial:
        if self._key_text is not None:
            return parse_key_material(self._key_text)
        assert self.key_file is not None
        return load_key_file(self.key_file)

    def _load(self) -> _Opened:
        """Read and authenticate the vault with the current key material; the caller holds the lock."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise VaultNotInitialized(self.path) from None
        doc = _parse(raw, self.path)
        material = self._material()
        version = doc["key_version"]
        masters = material.keys if isinstance(material, Keyring) else {version: material}
        if version not in masters:
            raise VaultLocked(
                f"{self.path} is sealed with key version {version} but {self._key_source} holds "
                f"versions {sorted(masters)}. Use the key that holds version {version} (see "
                "docs/runbooks/rotate-keys.md)."
            )
        opened = _authenticate(doc, dict(masters), self.path)
        if self.anchor is not None:  # only an authentic document may move the anchor up
            self.anchor.check_vault(self.path, doc["vault_id"], doc["generation"])
        return opened


def _as_keyring(material: KeyMaterial, version: int) -> Keyring:
    """A bare key (from a key file written by hand) is the key of the version the vault is sealed with."""
    return material if isinstance(material, Keyring) else Keyring(keys={version: material}, active=version)


def _serialize(doc: dict[str, Any], master: bytes) -> bytes:
    """The document with a fresh manifest MAC, as the bytes written to disk."""
    body = {k: v for k, v in doc.items() if k != "mac"}
    return (
        json.dumps({**body, "mac": _manifest_mac(body, master)}, indent=1, sort_keys=True) + "\n"
    ).encode()


def _resealed(opened: _Opened, values: dict[str, str], version: int, master: bytes) -> dict[str, Any]:
    """A copy of the vault with every entry sealed under `version`, at one new generation."""
    old = opened.doc
    generation = old["generation"] + 1
    vault_id = opened.vault_id
    return {
        **old,
        "generation": generation,
        "key_version": version,
        "key_check": _key_check(master, vault_id, version),
        "entries": {
            name: _seal(master, vault_id, name, version, generation, value, old["entries"][name]["updated"])
            for name, value in values.items()
        },
    }


def _check_all_open(opened: _Opened, values: dict[str, str]) -> None:
    """Every expected entry is present and decrypts to the expected value, or rotation stops."""
    if set(opened.doc["entries"]) != set(values):
        raise IntegrityError("Rotation check failed: the re-encrypted vault does not hold the same entries.")
    for name, value in values.items():
        if not hmac.compare_digest(_unseal(opened, name).encode(), value.encode()):
            raise IntegrityError(f"Rotation check failed: entry {name!r} does not decrypt to its value.")
