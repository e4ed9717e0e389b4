"""Item 5 of issue 14 (key side): a retired key kept in the key file still opens old vault copies."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from security.errors import VaultLocked
from security.vault import Vault
from tests.security.attacks.conftest import StateCopy
from tests.security.helpers import run_python

# A rotation killed (SIGKILL) after the vault was rewritten and before the old key was retired.
_KILLED_BEFORE_RETIREMENT = """
import os, signal, sys
from pathlib import Path
from security.vault import Vault

def die_at(step):
    if step == "old_key_retire_staged":
        os.kill(os.getpid(), signal.SIGKILL)

Vault(Path(sys.argv[1]), key_file=Path(sys.argv[2])).rotate(on_step=die_at)
"""


def test_retired_key_is_reported_and_purged(
    state: StateCopy, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    opened = state.open()
    key_file = opened.layout.key_file
    backup = tmp_path / "backup-vault.json"
    shutil.copy2(state.vault_path, backup)  # a backup taken before the rotation (key version 1)
    values = {name: opened.vault.get(name) for name in opened.vault.names()}
    assert opened.vault.verify().warning is None

    killed = run_python(_KILLED_BEFORE_RETIREMENT, str(state.vault_path), str(key_file), env=subprocess_env)
    assert killed.returncode == -signal.SIGKILL
    assert sorted(json.loads(key_file.read_text())["keys"]) == ["1", "2"]

    reopened = state.open()
    report = reopened.vault.verify()
    assert (report.key_version, report.retired_key_versions) == (2, (1,))
    assert report.warning is not None and "retired key version(s) 1" in report.warning
    assert "cofre vault purge-keys" in report.warning
    # The attack the warning is about: the key file as it is now opens the old backup.
    assert Vault(backup, key_file=key_file).get("pg_password") == values["pg_password"]

    assert reopened.vault.purge_retired_keys() == (1,)
    assert sorted(json.loads(key_file.read_text())["keys"]) == ["2"]
    assert reopened.vault.verify().retired_key_versions == ()
    assert reopened.vault.purge_retired_keys() == ()
    with pytest.raises(VaultLocked, match="sealed with key version 1"):
        Vault(backup, key_file=key_file)
    assert {name: state.open().vault.get(name) for name in values} == values
