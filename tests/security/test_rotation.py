"""Key rotation: re-encryption under a new version, and survival of a SIGKILL at every step."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from security.errors import RotationUnavailable, VaultLocked, WrongKey
from security.keys import encode_b64, generate_master_key
from security.vault import ROTATION_STEPS, Vault
from tests.security.helpers import run_python

VALUES = {f"entry_{i}": f"rotation-value-{i}-{'x' * i}" for i in range(12)}

_KILLED_ROTATION = """
import os, signal, sys
from pathlib import Path
from security.vault import Vault

target = sys.argv[3]

def die_at(step):
    if step == target:
        os.kill(os.getpid(), signal.SIGKILL)

Vault(Path(sys.argv[1]), key_file=Path(sys.argv[2])).rotate(on_step=die_at)
print("rotation finished")
"""


# What a kill at each step leaves: (the vault's key version, the versions in the key file).
LEFT_BY_KILL = {
    "new_key_staged": (1, [1]),
    "new_key_added": (1, [1, 2]),
    "vault_staged": (1, [1, 2]),
    "vault_rewritten": (2, [1, 2]),
    "old_key_retire_staged": (2, [1, 2]),
    "old_key_retired": (2, [2]),
}


def _key_versions(key_file: Path) -> list[int]:
    return sorted(int(v) for v in json.loads(key_file.read_text())["keys"])


@pytest.fixture
def filled(vault: Vault) -> Vault:
    for name, value in VALUES.items():
        vault.set(name, value)
    return vault


def _assert_all_entries(vault_path: Path, key_file: Path) -> Vault:
    reopened = Vault(vault_path, key_file=key_file)
    assert reopened.verify().entries == len(VALUES)
    assert {name: reopened.get(name) for name in reopened.names()} == VALUES
    return reopened


def test_rotation_reencrypts_and_retires_the_old_key(filled: Vault, key_file: Path) -> None:
    old_ciphertexts = json.loads(filled.path.read_text())["entries"]
    steps: list[str] = []
    report = filled.rotate(on_step=steps.append)
    assert (report.old_version, report.new_version, report.entries) == (1, 2, len(VALUES))
    assert steps == list(ROTATION_STEPS)
    assert _key_versions(key_file) == [2]
    new_entries = json.loads(filled.path.read_text())["entries"]
    assert {e["key_version"] for e in new_entries.values()} == {2}
    assert all(new_entries[n]["ciphertext"] != old_ciphertexts[n]["ciphertext"] for n in VALUES)
    _assert_all_entries(filled.path, key_file)
    filled.set("after", "written-after-rotation")
    assert filled.rotate().new_version == 3
    assert Vault(filled.path, key_file=key_file).get("after") == "written-after-rotation"


def test_old_key_no_longer_opens_the_rotated_vault(filled: Vault, key_file: Path, tmp_path: Path) -> None:
    backup = tmp_path / "old.key"
    backup.write_bytes(key_file.read_bytes())
    backup.chmod(0o600)
    filled.rotate()
    with pytest.raises(VaultLocked, match="version 2"):
        Vault(filled.path, key_file=backup)


def test_rotation_needs_a_key_file(vault_path: Path) -> None:
    key = encode_b64(generate_master_key())
    with pytest.raises(RotationUnavailable, match=r"rotate-keys\.md"):
        Vault.create(vault_path, key=key).rotate()


def test_rotating_a_key_kept_in_the_environment(vault_path: Path, key_file: Path) -> None:
    """The runbook's path: the bare key goes into the key file, rotation turns it into a keyring."""
    bare = encode_b64(generate_master_key())
    Vault.create(vault_path, key=bare).set("x", "value-under-env-key")
    key_file.write_text(bare)
    key_file.chmod(0o600)
    assert Vault(vault_path, key_file=key_file).rotate().new_version == 2
    assert _key_versions(key_file) == [2]
    assert Vault(vault_path, key=key_file.read_text()).get("x") == "value-under-env-key"
    with pytest.raises(WrongKey):
        Vault(vault_path, key=bare)


def test_every_step_is_covered() -> None:
    assert tuple(LEFT_BY_KILL) == ROTATION_STEPS


@pytest.mark.integration
@pytest.mark.parametrize("step", ROTATION_STEPS)
def test_rotation_killed_at_each_step_loses_nothing(
    filled: Vault, key_file: Path, step: str, subprocess_env: dict[str, str]
) -> None:
    result = run_python(_KILLED_ROTATION, str(filled.path), str(key_file), step, env=subprocess_env)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "rotation finished" not in result.stdout

    # Opens with whatever key material the kill left, and every entry is intact.
    reopened = _assert_all_entries(filled.path, key_file)
    assert (reopened.entries()[0].key_version, _key_versions(key_file)) == LEFT_BY_KILL[step]

    # Writes keep working, and a later rotation completes and clears every leftover.
    reopened.set("entry_0", VALUES["entry_0"])
    reopened.rotate()
    assert len(_key_versions(key_file)) == 1
    _assert_all_entries(filled.path, key_file)
    assert not list(filled.path.parent.glob(".*.tmp"))
