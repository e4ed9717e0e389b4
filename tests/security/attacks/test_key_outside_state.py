"""Item 6 of issue 14: the key file beside the vault, so any copy of the state directory decrypts."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from security.audit import AuditTrail, read_events
from security.bootstrap import ensure_embedded_secrets
from security.errors import InsecurePermissions, KeyFileConflict, MissingKey, UnsafeKeyFile
from security.keys import Keyring, encode_b64, load_key_file
from security.vault import Vault
from tests.security.attacks.conftest import ACTOR, StateCopy
from tests.security.helpers import files_containing

IS_ROOT = os.geteuid() == 0


def _key_texts(key_file: Path) -> list[str]:
    material = load_key_file(key_file)
    assert isinstance(material, Keyring)
    return [encode_b64(key) for key in material.keys.values()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_lives_outside_the_state_directory(state: StateCopy) -> None:
    opened = state.open()
    key_file = opened.layout.key_file
    assert key_file == state.config_home / "cofre" / "keys" / f"{opened.layout.state_id}.key"
    assert not key_file.resolve().is_relative_to(state.home.resolve())
    assert _mode(key_file) == 0o600 and _mode(key_file.parent) == 0o700
    assert _mode(opened.layout.anchor_path) == 0o600 and _mode(opened.layout.anchor_path.parent) == 0o700
    assert _mode(state.config_home / "cofre") == 0o700  # every level cofre creates is private
    assert not (state.home / "vault" / "vault.key").exists()
    assert list(files_containing(state.home, _key_texts(key_file))) == []


def test_state_directory_copied_alone_cannot_be_decrypted(state: StateCopy, tmp_path: Path) -> None:
    key_texts = _key_texts(state.open().layout.key_file)
    elsewhere = tmp_path / "stolen" / "state"
    shutil.copytree(state.home, elsewhere)  # the attack: a backup, a laptop image, a synced folder

    assert list(files_containing(elsewhere, key_texts)) == []
    with pytest.raises(MissingKey):  # another user, another machine: its own config directory
        StateCopy(home=elsewhere, config_home=tmp_path / "thief-config").open()
    with pytest.raises(MissingKey):  # the old layout's key file is not there either
        Vault(elsewhere / "vault" / "vault.json", key_file=elsewhere / "vault" / "vault.key")


def test_key_file_left_in_the_state_directory_is_moved_out(tmp_path: Path) -> None:
    """A state directory made by an older cofre: key file at <state>/vault/vault.key."""
    home, config_home = tmp_path / "state", tmp_path / "config"
    legacy = home / "vault" / "vault.key"
    vault = Vault.create(home / "vault" / "vault.json", key_file=legacy)
    ensure_embedded_secrets(vault)
    old = AuditTrail.for_vault(home / "audit" / "audit.jsonl", vault, actor=ACTOR)
    old.record("lake.write", target="bronze/orders/part-1.parquet")
    key_bytes = legacy.read_bytes()

    opened = StateCopy(home, config_home).open()

    assert not legacy.exists()
    assert opened.layout.key_file.read_bytes() == key_bytes and _mode(opened.layout.key_file) == 0o600
    assert set(opened.events) == {"vault.key_moved", "state.anchor_created"}
    moved = [e for e in read_events(home / "audit" / "audit.jsonl") if e["action"] == "vault.key_moved"]
    assert moved[0]["target"] == str(opened.layout.key_file) and moved[0]["details"] == {"from": str(legacy)}
    assert opened.audit is not None and opened.audit.verify().ok
    assert list(files_containing(home, _key_texts(opened.layout.key_file))) == []
    with pytest.raises(MissingKey):
        StateCopy(home, tmp_path / "thief-config").open()


def test_two_different_key_files_are_not_merged(tmp_path: Path) -> None:
    home, config_home = tmp_path / "state", tmp_path / "config"
    state = StateCopy(home, config_home)
    opened = state.open(create=True)
    legacy = home / "vault" / "vault.key"
    legacy.write_bytes(Keyring.new().to_json())  # a stray key planted where the old layout kept it
    legacy.chmod(0o600)
    with pytest.raises(KeyFileConflict, match="will not choose between two keys"):
        state.open()
    assert legacy.exists() and opened.vault.verify().entries > 0


def test_symlinked_key_file_is_refused(state: StateCopy, tmp_path: Path) -> None:
    key_file = state.open().layout.key_file
    planted = tmp_path / "planted.key"
    shutil.copy2(key_file, planted)
    key_file.unlink()
    key_file.symlink_to(planted)  # the attack: the key file now points where someone else decides
    with pytest.raises(UnsafeKeyFile, match="symbolic link"):
        state.open()


def test_world_readable_key_file_is_refused(state: StateCopy) -> None:
    key_file = state.open().layout.key_file
    key_file.chmod(0o644)
    with pytest.raises(InsecurePermissions, match=f"chmod 600 {key_file}"):
        state.open()


@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")
def test_key_file_of_another_user_is_refused(state: StateCopy) -> None:
    key_file = state.open().layout.key_file
    os.chown(key_file, 65534, 65534)  # nobody: whoever owns the file can read or replace the key
    with pytest.raises(UnsafeKeyFile, match="belongs to user id 65534"):
        state.open()


def test_explicit_key_file_inside_the_state_directory_is_refused(state: StateCopy) -> None:
    inside = state.home / "my.key"
    with pytest.raises(UnsafeKeyFile, match="inside the state directory"):
        state.open(key_file=inside)


def test_explicit_key_file_in_a_directory_cofre_does_not_own(state: StateCopy, tmp_path: Path) -> None:
    """COFRE_VAULT_KEY_FILE in a mount like Docker's /run/secrets: the file is checked, the directory is
    left as it is (cofre neither tightens nor refuses a directory it does not manage)."""
    default_key = state.open().layout.key_file
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir(mode=0o755)
    secrets_dir.chmod(0o755)
    explicit = secrets_dir / "cofre_vault_key"
    shutil.copy2(default_key, explicit)
    default_key.unlink()
    if IS_ROOT:
        os.chown(secrets_dir, 65534, 65534)

    opened = state.open(key_file=explicit)

    assert opened.layout.key_file == explicit and opened.vault.verify().entries > 0
    assert _mode(secrets_dir) == 0o755
    explicit.chmod(0o640)
    with pytest.raises(InsecurePermissions):
        state.open(key_file=explicit)


def test_key_given_as_text_is_written_nowhere(tmp_path: Path) -> None:
    """COFRE_VAULT_KEY (the stack's way): no key file is created, inside or outside the state."""
    key = encode_b64(os.urandom(32))
    state = StateCopy(tmp_path / "state", tmp_path / "config")
    opened = state.open(create=True, key=key)
    assert opened.vault.verify().entries > 0
    assert not opened.layout.key_file.exists()
    assert list(files_containing(tmp_path, [key])) == []
    assert state.open(key=key).vault.verify().entries > 0
    with pytest.raises(MissingKey):
        state.open()
