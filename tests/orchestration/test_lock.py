"""The state directory's lock between real processes: exclusive, re-entrant in its holder, released by
the kernel when the holder dies (kill -9 included)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.lock import StateLocked, lock_path, read_holder, state_lock

HOLD = """
import sys, time
from pathlib import Path
from orchestration.lock import state_lock
with state_lock(Path(sys.argv[1]), "holding for a test", run_id="run-x"):
    print("held", flush=True)
    time.sleep(120)
"""


def hold(home: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_held_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    try:
        began = time.monotonic()
        with pytest.raises(StateLocked) as refused, state_lock(tmp_path, "second"):
            pytest.fail("two holders at once")
        assert time.monotonic() - began < 1
        assert refused.value.holder is not None and refused.value.holder.pid == holder.pid
        message = str(refused.value)
        assert f"pid {holder.pid}" in message and "run run-x" in message and "started at" in message
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # The kernel released it with the process: no stale lock after a kill -9.
    with state_lock(tmp_path, "after the kill", run_id="run-y"):
        assert read_holder(tmp_path) is not None and read_holder(tmp_path).pid == os.getpid()  # type: ignore[union-attr]
    assert lock_path(tmp_path).read_text() == "", "released: the file no longer names a holder"


def test_the_lock_is_reentrant_in_its_process_and_exclusive_across_processes(tmp_path: Path) -> None:
    with state_lock(tmp_path, "run", run_id="outer"), state_lock(tmp_path, "publish", run_id="outer"):
        assert json.loads(lock_path(tmp_path).read_text())["purpose"] == "run"
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import fcntl, sys; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)",
                str(lock_path(tmp_path)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.returncode != 0 and "BlockingIOError" in probe.stderr


def test_wait_blocks_until_the_holder_ends(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    seen = []
    began = time.monotonic()
    subprocess.Popen(["sh", "-c", f"sleep 1; kill {holder.pid}"])
    with state_lock(tmp_path, "waiter", wait=True, on_wait=seen.append):
        waited = time.monotonic() - began
    holder.wait()
    assert seen and seen[0] is not None and seen[0].pid == holder.pid
    assert waited >= 0.9
