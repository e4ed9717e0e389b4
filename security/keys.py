"""Master keys of the vault: generation, the key file, and the keys derived from a master key.

A master key is 32 random bytes written as unpadded base64url. The key file is a small JSON keyring,
`{"format": "cofre-vault-key/1", "active": 2, "keys": {"2": "<base64url>"}}`, so that a rotation can hold
the old and the new version side by side until every entry is re-encrypted. COFRE_VAULT_KEY holds either
one bare master key or that same JSON (a key file holding a bare key is accepted too: it is how a key
kept in the environment is handed to a rotation). Master keys are never used directly: HKDF-SHA256
derives one key per purpose and version, salted with the vault's random id, so a key serves only one
vault and one job.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from security.errors import InsecurePermissions, InvalidKeyMaterial, MissingKey, UnsafeKeyFile
from security.files import PRIVATE_FILE_MODE, atomic_write

KEY_FILE_FORMAT = "cofre-vault-key/1"
KEY_BYTES = 32


def encode_b64(raw: bytes) -> str:
    """Unpadded base64url: safe in JSON, environment variables and file names."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_b64(text: str) -> bytes:
    """Inverse of `encode_b64`; raises binascii.Error or ValueError on anything else."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_master_key() -> bytes:
    """A new master key from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def _decode_master_key(text: str, where: str) -> bytes:
    try:
        raw = decode_b64(text)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise InvalidKeyMaterial(
            f"{where} is not a {KEY_BYTES}-byte base64url master key. Use the value written by "
            "`cofre vault init` (or the whole key file JSON)."
        )
    return raw


@dataclass(frozen=True)
class Keyring:
    """Master keys by version, and the version a new vault (or a finished rotation) is sealed with."""

    keys: dict[int, bytes]
    active: int

    @classmethod
    def new(cls) -> Keyring:
        return cls(keys={1: generate_master_key()}, active=1)

    def with_new_version(self) -> tuple[Keyring, int]:
        """Add a fresh key after every known version; the active version does not change yet."""
        version = max(self.keys) + 1
        return Keyring(keys={**self.keys, version: generate_master_key()}, active=self.active), version

    def only(self, version: int) -> Keyring:
        """Keep one version, now active: what is left once the older versions are retired."""
        return Keyring(keys={version: self.keys[version]}, active=version)

    def to_json(self) -> bytes:
        document = {
            "format": KEY_FILE_FORMAT,
            "active": self.active,
            "keys": {str(v): encode_b64(k) for v, k in sorted(self.keys.items())},
        }
        return (json.dumps(document, indent=2) + "\n").encode("ascii")

    @classmethod
    def from_json(cls, text: str, where: str) -> Keyring:
        try:
            document = json.loads(text)
            if document.get("format") != KEY_FILE_FORMAT:
                raise ValueError("unknown format")
            keys = {
                int(v): _decode_master_key(k, f"{where} (version {v})") for v, k in document["keys"].items()
            }
            active = int(document["active"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidKeyMaterial(
                f"{where} is not a cofre key file ({exc}). Restore it from your backup of the key."
            ) from None
        if not keys or active not in keys:
            raise InvalidKeyMaterial(f"{where} names active version {active} but holds no key for it.")
        return cls(keys=keys, active=active)


KeyMaterial = Keyring | bytes
"""A keyring (key file, or its JSON in COFRE_VAULT_KEY) or one bare master key of unknown version."""


def parse_key_material(text: str, where: str = "COFRE_VAULT_KEY") -> KeyMaterial:
    """Read a key given as text: the keyring JSON, or one bare base64url master key."""
    if text.lstrip().startswith("{"):
        return Keyring.from_json(text, where)
    return _decode_master_key(text, where)


def check_private_file(path: Path, what: str = "key file") -> None:
    """Refuse a file that is a symlink, belongs to another user, or that anyone but its owner can read or
    change (exactly 0600, like ssh's keys). `lstat`, so a link to someone else's file is never followed;
    FileNotFoundError if there is nothing at `path`."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise UnsafeKeyFile(
            f"The {what} {path} is a symbolic link or not a regular file; cofre refuses to follow it "
            "(a link can point it at a file someone else controls). Replace it with the file itself."
        )
    if info.st_uid != os.geteuid():
        raise UnsafeKeyFile(
            f"The {what} {path} belongs to user id {info.st_uid}, not to this user ({os.geteuid()}): "
            "its owner can read or replace it. Copy it to a file you own with mode 0600 and use that."
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode != PRIVATE_FILE_MODE:
        raise InsecurePermissions(path, mode, what.capitalize())


def check_key_file_permissions(path: Path) -> None:
    """The checks of `check_private_file` for a key file."""
    check_private_file(path, "key file")


def load_key_file(path: Path) -> KeyMaterial:
    """The key material in `path` (normally a keyring; a bare key is accepted), after checking its mode."""
    try:
        check_key_file_permissions(path)
    except FileNotFoundError:
        raise MissingKey(path) from None
    return parse_key_material(path.read_text(encoding="ascii"), f"key file {path}")


def write_key_file(
    path: Path, keyring: Keyring, *, overwrite: bool, before_rename: Callable[[], None] | None = None
) -> None:
    """Atomically (re)write the key file with mode 0600; the caller holds the vault lock."""
    atomic_write(path, keyring.to_json(), overwrite=overwrite, before_rename=before_rename)


def derive_key(master: bytes, vault_id: bytes, purpose: str, version: int) -> bytes:
    """A 32-byte key for one purpose ("entries", "manifest", "check") of one key version of one vault."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=vault_id,
        info=f"cofre-vault/{purpose}/v{version}".encode("ascii"),
    )
    return hkdf.derive(master)
