"""The vault file: round trip, keys and their sources, and every kind of tampering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from security.errors import (
    InsecurePermissions,
    IntegrityError,
    InvalidKeyMaterial,
    InvalidSecretName,
    MissingKey,
    SecretNotFound,
    VaultAlreadyExists,
    VaultLocked,
    VaultNotInitialized,
    WrongKey,
)
from security.keys import Keyring, decode_b64, encode_b64, generate_master_key
from security.vault import Vault, _serialize


def _doc(path: Path) -> dict:
    return json.loads(path.read_text())


def _write_doc(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc))


def _master(key_file: Path) -> bytes:
    keyring = json.loads(key_file.read_text())
    return decode_b64(keyring["keys"][str(keyring["active"])])


def test_round_trip_and_metadata(vault: Vault, vault_path: Path, key_file: Path) -> None:
    vault.set("pg_password", "correct horse battery staple")
    vault.set("unicode", "senha-çãõ-🔑")
    reopened = Vault(vault_path, key_file=key_file)
    assert reopened.get("pg_password") == "correct horse battery staple"
    assert reopened.get("unicode") == "senha-çãõ-🔑"
    assert reopened.names() == ["pg_password", "unicode"]
    assert [e.key_version for e in reopened.entries()] == [1, 1]
    assert "pg_password" in reopened and "absent" not in reopened
    assert reopened.secret_values() == {"correct horse battery staple", "senha-çãõ-🔑"}
    assert reopened.verify().entries == 2


def test_files_are_private_and_hold_no_plaintext(vault: Vault, vault_path: Path, key_file: Path) -> None:
    vault.set("api_key", "plaintext-marker-4711")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert oct(vault_path.stat().st_mode & 0o777) == "0o600"
    assert oct(vault_path.parent.stat().st_mode & 0o777) == "0o700"
    assert b"plaintext-marker-4711" not in vault_path.read_bytes()


def test_replace_and_delete(vault: Vault) -> None:
    vault.set("token", "first-value")
    vault.set("token", "second-value")
    assert vault.get("token") == "second-value"
    vault.delete("token")
    with pytest.raises(SecretNotFound, match="cofre vault set token"):
        vault.get("token")
    with pytest.raises(SecretNotFound):
        vault.delete("token")


def test_set_default_keeps_existing_value(vault: Vault) -> None:
    assert vault.set_default("masking_key", "generated-one") is True
    assert vault.set_default("masking_key", "generated-two") is False
    assert vault.get("masking_key") == "generated-one"


def test_names_and_values_are_validated(vault: Vault) -> None:
    for bad in ["", "../etc/passwd", "has space", "x" * 129, "-leading"]:
        with pytest.raises(InvalidSecretName):
            vault.set(bad, "value")
    with pytest.raises(ValueError):
        vault.set("empty", "")


def test_on_read_sees_the_name_only(vault: Vault) -> None:
    seen: list[str] = []
    vault.set("api_key", "value-of-api-key")
    vault.on_read = seen.append
    vault.get("api_key")
    vault.secret_values()  # a guard's read, not a consumer's: not reported
    assert seen == ["api_key"]


def test_wrong_key_is_refused(vault_path: Path, key_file: Path, vault: Vault, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(Keyring.new().to_json())
    other.chmod(0o600)
    with pytest.raises(WrongKey, match="does not open"):
        Vault(vault_path, key_file=other)
    with pytest.raises(WrongKey):
        Vault(vault_path, key=encode_b64(generate_master_key()))


def test_missing_key_and_missing_vault(vault_path: Path, key_file: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingKey, match="COFRE_VAULT_KEY"):
        Vault(vault_path)
    Vault.create(vault_path, key_file=key_file)
    with pytest.raises(MissingKey, match=re.escape(str(tmp_path / "nowhere.key"))):
        Vault(vault_path, key_file=tmp_path / "nowhere.key")
    with pytest.raises(VaultNotInitialized, match="cofre vault init"):
        Vault(tmp_path / "absent.json", key_file=key_file)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o400, 0o700])
def test_key_file_must_be_exactly_0600(vault: Vault, vault_path: Path, key_file: Path, mode: int) -> None:
    key_file.chmod(mode)
    with pytest.raises(InsecurePermissions, match=re.escape(f"chmod 600 {key_file}")):
        Vault(vault_path, key_file=key_file)


def test_key_from_environment_text(vault_path: Path, tmp_path: Path) -> None:
    bare = encode_b64(generate_master_key())
    Vault.create(vault_path, key=bare).set("x", "value-from-env-key")
    assert Vault(vault_path, key=bare).get("x") == "value-from-env-key"
    assert not (vault_path.parent / "vault.key").exists()
    # The key file's JSON is accepted as COFRE_VAULT_KEY too.
    keyring = Keyring(keys={1: decode_b64(bare)}, active=1)
    assert Vault(vault_path, key=keyring.to_json().decode()).get("x") == "value-from-env-key"
    with pytest.raises(InvalidKeyMaterial):
        Vault(vault_path, key="not-a-key")


def test_create_never_clobbers(vault: Vault, vault_path: Path, key_file: Path, tmp_path: Path) -> None:
    with pytest.raises(VaultAlreadyExists):
        Vault.create(vault_path, key_file=tmp_path / "new.key")
    with pytest.raises(VaultAlreadyExists):
        Vault.create(tmp_path / "new.json", key_file=key_file)


def test_keyring_without_the_vault_version_is_locked(vault: Vault, vault_path: Path, key_file: Path) -> None:
    key_file.write_bytes(Keyring(keys={7: generate_master_key()}, active=7).to_json())
    with pytest.raises(VaultLocked, match="version 1"):
        Vault(vault_path, key_file=key_file)


# -- tampering ---------------------------------------------------------------------------------------


@pytest.fixture
def filled(vault: Vault) -> Vault:
    vault.set("alpha", "alpha-secret-value")
    vault.set("beta", "beta-secret-value")
    return vault


def _reopen(vault: Vault) -> Vault:
    return Vault(vault.path, key_file=vault.key_file)


def test_flipped_byte_in_an_entry(filled: Vault) -> None:
    doc = _doc(filled.path)
    raw = bytearray(decode_b64(doc["entries"]["alpha"]["ciphertext"]))
    raw[3] ^= 0x01
    doc["entries"]["alpha"]["ciphertext"] = encode_b64(bytes(raw))
    _write_doc(filled.path, doc)
    with pytest.raises(IntegrityError, match="integrity check"):
        _reopen(filled)


def test_swapped_entries(filled: Vault) -> None:
    doc = _doc(filled.path)
    entries = doc["entries"]
    entries["alpha"], entries["beta"] = entries["beta"], entries["alpha"]
    _write_doc(filled.path, doc)
    with pytest.raises(IntegrityError):
        _reopen(filled)


def test_replayed_old_entry(filled: Vault) -> None:
    old_alpha = _doc(filled.path)["entries"]["alpha"]
    filled.set("alpha", "alpha-rotated-value")
    doc = _doc(filled.path)
    doc["entries"]["alpha"] = old_alpha
    _write_doc(filled.path, doc)
    with pytest.raises(IntegrityError):
        _reopen(filled)


def test_deleted_entry(filled: Vault) -> None:
    doc = _doc(filled.path)
    del doc["entries"]["beta"]
    _write_doc(filled.path, doc)
    with pytest.raises(IntegrityError):
        _reopen(filled)


@pytest.mark.parametrize("keep", [0, 1, 100, -2])
def test_truncated_file(filled: Vault, keep: int) -> None:
    data = filled.path.read_bytes()
    filled.path.write_bytes(data[:keep])
    with pytest.raises(IntegrityError, match="truncated"):
        _reopen(filled)


def test_edited_metadata(filled: Vault) -> None:
    doc = _doc(filled.path)
    doc["entries"]["alpha"]["updated"] = "2000-01-01T00:00:00+00:00"
    _write_doc(filled.path, doc)
    with pytest.raises(IntegrityError):
        _reopen(filled)


def test_tampered_file_is_detected_by_a_vault_already_open(filled: Vault) -> None:
    doc = _doc(filled.path)
    del doc["entries"]["beta"]
    _write_doc(filled.path, doc)
    with pytest.raises(IntegrityError):
        filled.get("alpha")
    with pytest.raises(IntegrityError):
        filled.set("gamma", "gamma-secret-value")


def _forge_manifest(vault: Vault, doc: dict, key_file: Path) -> None:
    """What an attacker who defeated the manifest MAC could write: proves the per-entry binding alone."""
    body = {k: v for k, v in doc.items() if k != "mac"}
    vault.path.write_bytes(_serialize(body, _master(key_file)))


def test_entry_binding_alone_stops_swaps(filled: Vault, key_file: Path) -> None:
    doc = _doc(filled.path)
    entries = doc["entries"]
    entries["alpha"], entries["beta"] = entries["beta"], entries["alpha"]
    _forge_manifest(filled, doc, key_file)
    with pytest.raises(IntegrityError, match="'alpha' failed authentication"):
        _reopen(filled).get("alpha")


def test_entry_binding_alone_stops_replays(filled: Vault, key_file: Path) -> None:
    old_alpha = _doc(filled.path)["entries"]["alpha"]
    filled.set("alpha", "alpha-rotated-value")
    doc = _doc(filled.path)
    doc["entries"]["alpha"] = {**old_alpha, "generation": doc["entries"]["alpha"]["generation"]}
    _forge_manifest(filled, doc, key_file)
    with pytest.raises(IntegrityError, match="failed authentication"):
        _reopen(filled).get("alpha")


def test_entry_bound_to_its_vault(tmp_path: Path) -> None:
    """The same key and name in another vault: the entry does not open there (vault id in the AD)."""
    key = encode_b64(generate_master_key())
    first = Vault.create(tmp_path / "a" / "vault.json", key=key)
    second = Vault.create(tmp_path / "b" / "vault.json", key=key)
    first.set("shared", "first-vault-value")
    second.set("shared", "second-vault-value")
    doc = _doc(second.path)
    moved = _doc(first.path)["entries"]["shared"]
    doc["entries"]["shared"] = {**moved, "generation": doc["entries"]["shared"]["generation"]}
    second.path.write_bytes(_serialize({k: v for k, v in doc.items() if k != "mac"}, decode_b64(key)))
    with pytest.raises(IntegrityError, match="failed authentication"):
        Vault(second.path, key=key).get("shared")


def test_nonces_are_unique(vault: Vault) -> None:
    for i in range(20):
        vault.set(f"n{i}", "same-value-every-time")
    nonces = [e["nonce"] for e in _doc(vault.path)["entries"].values()]
    ciphertexts = [e["ciphertext"] for e in _doc(vault.path)["entries"].values()]
    assert len(set(nonces)) == 20 and len(set(ciphertexts)) == 20


def test_no_temporary_files_left(vault: Vault) -> None:
    for i in range(3):
        vault.set(f"k{i}", f"value-{i}-xyz")
    names = sorted(p.name for p in vault.path.parent.iterdir())
    assert names == ["vault.json", "vault.json.lock", "vault.key"]
