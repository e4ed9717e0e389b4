"""open_state in real processes: writers of the vault and of the audit trail share one anchor and lose
nothing; the anchor ends exactly at the vault's generation and the trail's last event."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from security.state import default_config_home, open_state
from tests.security.helpers import PYTHON

PER_WRITER = 15

_WRITER = """
import sys, time
from pathlib import Path
from security.state import open_state

state = open_state(Path(sys.argv[1]), config_home=Path(sys.argv[2]), actor=f"writer-{sys.argv[3]}")
prefix, go = sys.argv[3], Path(sys.argv[4])
(go.parent / f"ready-{prefix}").touch()
while not go.exists():
    time.sleep(0.005)
for i in range(int(sys.argv[5])):
    state.vault.set(f"{prefix}_{i}", f"{prefix}-value-{i}")
    state.audit.record("lake.write", target=f"bronze/{prefix}/part-{i}.parquet")
    state.vault.get(f"{prefix}_{i}")
"""


@pytest.mark.integration
def test_two_processes_writing_vault_and_trail_keep_the_anchor_exact(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    home, config_home = tmp_path / "state", tmp_path / "config"
    open_state(home, config_home=config_home, actor="setup", create=True)
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [str(PYTHON), "-c", _WRITER, str(home), str(config_home), prefix, str(go), str(PER_WRITER)],
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
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err

    state = open_state(home, config_home=config_home, actor="checker")
    assert state.audit is not None
    report = state.audit.verify()
    assert report.ok and report.events == 2 * 2 * PER_WRITER  # one write and one read event each
    anchored = state.anchor.read()
    vault_doc = json.loads(state.layout.vault_path.read_text())
    assert anchored.vault_generation == vault_doc["generation"]
    assert anchored.vault_id == vault_doc["vault_id"]
    last = json.loads(state.layout.audit_path.read_text().splitlines()[-1])
    assert (anchored.audit_seq, anchored.audit_hash) == (last["seq"], last["hash"])
    names = {f"{p}_{i}" for p in ("left", "right") for i in range(PER_WRITER)}
    assert names <= set(state.vault.names())


def test_default_config_home(tmp_path: Path) -> None:
    assert default_config_home({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path
    relative = default_config_home({"XDG_CONFIG_HOME": "relative/dir"})  # ignored, as XDG says
    assert relative == default_config_home({}) and relative.name == ".config"


def test_anchor_left_behind_by_a_killed_writer_is_accepted_and_moved_up(tmp_path: Path) -> None:
    """A writer killed after its vault write or audit append but before updating the anchor (or whose
    last anchor replacement a crash lost) leaves the anchor behind: that state opens and verifies, and
    the anchor moves up to it."""
    home, config_home = tmp_path / "state", tmp_path / "config"
    state = open_state(home, config_home=config_home, actor="t", create=True)
    assert state.audit is not None
    state.audit.record("lake.write", target="bronze/a")
    behind = state.layout.anchor_path.read_bytes()
    state.vault.set("pg_password", "written-after-the-anchor")
    state.audit.record("lake.write", target="bronze/b")
    state.layout.anchor_path.write_bytes(behind)  # the anchor as the killed writer left it

    reopened = open_state(home, config_home=config_home, actor="t")
    assert reopened.vault.get("pg_password") == "written-after-the-anchor"
    assert reopened.audit is not None and reopened.audit.verify().ok
    vault_doc = json.loads(reopened.layout.vault_path.read_text())
    assert reopened.anchor.read().vault_generation == vault_doc["generation"]  # moved up by the read
    reopened.audit.record("lake.write", target="bronze/c")
    last = json.loads(reopened.layout.audit_path.read_text().splitlines()[-1])
    assert reopened.anchor.read().audit_seq == last["seq"]
