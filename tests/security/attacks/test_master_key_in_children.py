"""Attack: read the vault's master key from a child of a real `cofre run` (issue 14, item 2).

The stack gives cofre its master key as COFRE_VAULT_KEY. A run starts dbt, Spark's JVM and its Python
workers; any of them that inherits the variable hands the key to whoever can read its /proc/<pid>/environ
or its core dump. The attack samples the environment of every descendant of a real `cofre run` while it
runs, then scans every file the run left for the key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from security.keys import encode_b64, generate_master_key

pytestmark = pytest.mark.integration


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        try:
            found |= {int(p) for p in children.read_text().split()}
        except OSError:
            continue
    return found


def _descendants(root: int) -> set[int]:
    seen: set[int] = set()
    frontier = {root}
    while frontier:
        found: set[int] = set()
        for pid in frontier:
            found |= _children(pid)
        frontier = found - seen
        seen |= found
    return seen


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone between listing and reading
        return b""


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def test_no_descendant_of_a_run_holds_the_master_key(tmp_path: Path) -> None:
    key = encode_b64(generate_master_key())
    home = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(COFRE_HOME=str(home), COFRE_VAULT_KEY=key, AIRFLOW_HOME=str(tmp_path / "airflow"))
    run = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "run", "--scale", "0.01", "--seed", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sampled: dict[int, str] = {}
    holders: list[str] = []
    try:
        while run.poll() is None:
            for pid in _descendants(run.pid):
                if pid not in sampled:
                    sampled[pid] = _command(pid)
                if key.encode() in _environ(pid):
                    holders.append(f"{pid}: {sampled[pid]}")
            time.sleep(0.05)
        output = run.stdout.read().decode() if run.stdout else ""
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output[-3000:]
    commands = " | ".join(sampled.values())
    assert "dbt" in commands and "java" in commands, f"the run started no dbt or JVM child: {commands}"
    assert holders == [], f"children holding the master key: {sorted(set(holders))}"
    leaked = [str(p) for p in tmp_path.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaked == []
    assert key not in output
