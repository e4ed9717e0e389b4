"""Two real processes writing the vault at the same time lose nothing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from security.vault import Vault
from tests.security.helpers import PYTHON

PER_WRITER = 25

_WRITER = """
import sys, time
from pathlib import Path
from security.vault import Vault

vault = Vault(Path(sys.argv[1]), key_file=Path(sys.argv[2]))
prefix, go = sys.argv[3], Path(sys.argv[4])
(go.parent / f"ready-{prefix}").touch()
while not go.exists():
    time.sleep(0.005)
for i in range(int(sys.argv[5])):
    vault.set(f"{prefix}_{i}", f"{prefix}-value-{i}")
"""


@pytest.mark.integration
def test_two_processes_setting_different_names_keep_both(
    vault: Vault, key_file: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [str(PYTHON), "-c", _WRITER, str(vault.path), str(key_file), prefix, str(go), str(PER_WRITER)],
            env=subprocess_env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("left", "right")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{p}").exists() for p in ("left", "right")):
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)
    go.touch()  # both processes have opened the vault: release them at once
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err

    reopened = Vault(vault.path, key_file=key_file)
    expected = {f"{p}_{i}": f"{p}-value-{i}" for p in ("left", "right") for i in range(PER_WRITER)}
    assert {name: reopened.get(name) for name in reopened.names()} == expected
    assert reopened.verify().entries == 2 * PER_WRITER
