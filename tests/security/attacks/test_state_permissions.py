"""Item 7 of issue 14: a state directory cofre did not create, readable by other users."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from security.audit import read_events
from security.errors import UnsafeStateDirectory
from tests.security.attacks.conftest import StateCopy
from tests.security.helpers import REPO, run_python

IS_ROOT = os.geteuid() == 0
NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A directory other users can enter (pytest's tmp_path is 0700, which would hide the attack)."""
    root = Path(tempfile.mkdtemp(prefix="cofre-attack-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def _nobody_reads(path: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["cat", str(path)], user=NOBODY, group=NOBODY, capture_output=True, check=False)


def test_world_readable_state_directory_is_made_private(state: StateCopy, shared_root: Path) -> None:
    attacked = state.copy_to(shared_root)
    attacked.home.chmod(0o755)  # made by hand, or by `mkdir` under umask 022
    bronze = attacked.home / "lake" / "bronze" / "orders.csv"
    bronze.parent.mkdir(parents=True)
    bronze.write_text("order_id,customer_zip\n1,01310\n")
    bronze.chmod(0o644)  # what libraries create under umask 022
    for parent in bronze.parents:
        if parent == attacked.home:
            break
        parent.chmod(0o755)
    if IS_ROOT:  # the attack, for real: another user reads the data
        assert _nobody_reads(bronze).returncode == 0

    opened = attacked.open()

    assert _mode(attacked.home) == 0o700
    assert opened.events == ("state.permissions_fixed",)
    fixed = list(read_events(attacked.audit_path))[-1]
    assert fixed["action"] == "state.permissions_fixed" and fixed["target"] == str(attacked.home)
    assert fixed["details"] == {"old_mode": "0755", "new_mode": "0700"}
    if IS_ROOT:
        denied = _nobody_reads(bronze)
        assert denied.returncode != 0 and b"Permission denied" in denied.stderr
    assert attacked.open().events == ()  # nothing left to fix


@pytest.mark.skipif(not IS_ROOT, reason="giving a directory to another user needs root")
def test_state_directory_of_another_user_is_refused(state: StateCopy) -> None:
    os.chown(state.home, NOBODY, NOBODY)
    with pytest.raises(UnsafeStateDirectory, match=f"belongs to user id {NOBODY}"):
        state.open()


def test_files_created_after_restrict_umask_are_private(tmp_path: Path) -> None:
    """Files the pipeline's libraries create (CSV, Parquet, DuckDB) in a real process that called
    `restrict_umask()` first, as the CLI does, under a parent umask of 022."""
    code = """
import os, sys
from pathlib import Path
os.umask(0o022)
from security.state import restrict_umask
restrict_umask()
import duckdb, pyarrow as pa, pyarrow.parquet as pq
root = Path(sys.argv[1])
(root / "lake" / "bronze").mkdir(parents=True)
(root / "generated.csv").write_text("a,b\\n1,2\\n")
pq.write_table(pa.table({"a": [1]}), root / "lake" / "bronze" / "part-1.parquet")
duckdb.connect(str(root / "cofre.duckdb")).execute("create table t as select 1 as a").close()
"""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    done = run_python(code, str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    for made in ("generated.csv", "lake/bronze/part-1.parquet", "cofre.duckdb"):
        assert _mode(out / made) == 0o600, made
    for made in ("lake", "lake/bronze"):
        assert _mode(out / made) == 0o700, made
