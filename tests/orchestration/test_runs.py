"""Runs that meet each other or die: real `cofre` processes on one state directory, real kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.processes import is_alive

pytestmark = pytest.mark.integration
COFRE = [sys.executable, "-m", "orchestration"]


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(COLUMNS="200", COFRE_HOME=str(home), AIRFLOW_HOME=str(home / "airflow"), **extra)
    return env


def cofre(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COFRE, *args],
        capture_output=True,
        text=True,
        env=environment(home, **extra),
        cwd=home.parent,
        timeout=600,
        check=False,
    )


def start(*args: str, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COFRE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(home),
        cwd=home.parent,
    )


def records(home: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((home / "runs").glob("*.json"))]


def wait_for(condition, what: str, timeout: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def step_status(home: Path, step: str) -> str | None:
    for record in records(home)[-1:]:
        return next((s["status"] for s in record["steps"] if s["name"] == step), None)
    return None


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def dbt_children(pid: int) -> set[int]:
    """The dbt processes among the children of `pid`."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(child) for child in (task / "children").read_text().split()}
        except OSError:
            continue
    dbt = set()
    for child in found:
        try:
            if b"dbt" in Path(f"/proc/{child}/cmdline").read_bytes():
                dbt.add(child)
        except OSError:  # gone meanwhile
            continue
    return dbt


def audit_actions(home: Path) -> list[tuple[str, str]]:
    lines = (home / "audit" / "audit.jsonl").read_text().splitlines()
    return [(e["action"], e["target"]) for e in map(json.loads, lines)]


def test_a_second_run_exits_2_at_once_naming_the_holder_or_waits(tmp_path: Path) -> None:
    home = tmp_path / "state"
    first = start("ingest", "--scale", "0.01", home=home)
    try:
        wait_for(lambda: bool(records(home)), "the first run's record")
        holder = json.loads((home / "cofre.lock").read_text())
        run_id = records(home)[-1]["run_id"]
        assert holder["pid"] == first.pid and holder["run_id"] == run_id

        began = time.monotonic()
        second = cofre("run", "--scale", "0.01", home=home)
        elapsed = time.monotonic() - began
        assert second.returncode == 2, second.stdout + second.stderr
        message = second.stderr.replace("\n", "")
        for part in (f"pid {first.pid}", f"run {run_id}", f"started at {holder['started_at']}", "--wait"):
            assert part in message, (part, message)
        assert "Traceback" not in second.stdout + second.stderr
        # Python and the CLI's imports take most of it; the lock itself answers at once.
        assert elapsed < 6, elapsed
        assert len(records(home)) == 1, "the refused run must not write a record"

        waiting = start("run", "--wait", "--select", "ingest_ipca", home=home)
        out, _ = waiting.communicate(timeout=600)
        assert first.poll() is not None, "--wait must not run before the holder is done"
        assert waiting.returncode == 0, out
        assert f"waiting for pid {first.pid}" in out
    finally:
        first.kill()
        first.wait()
    statuses = [r["status"] for r in records(home)]
    assert statuses == ["succeeded", "succeeded"], statuses


def test_kill_9_mid_run_then_resume_finishes_it(tmp_path: Path) -> None:
    home = tmp_path / "state"
    victim = start("ingest", "--scale", "0.01", home=home)
    wait_for(lambda: step_status(home, "ingest_ipca") == "running", "step ingest_ipca to start")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    (killed,) = records(home)
    assert killed["status"] == "running" and killed["pid"] == victim.pid

    # The next start finds the dead run (marks it interrupted), and `--resume` continues it.
    resumed = cofre("run", "--resume", home=home)
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output
    assert f"Run {killed['run_id']} was interrupted" in output
    assert f"Resuming run {killed['run_id']} from step ingest_ipca" in output
    before, after = records(home)
    assert before["status"] == "interrupted"
    assert {s["name"]: s["status"] for s in before["steps"]} == {
        "prepare_olist": "succeeded",
        "ingest_olist": "succeeded",
        "ingest_ipca": "interrupted",
        "ingest_weather": "not run",
    }
    assert after["status"] == "succeeded" and after["resumes"] == killed["run_id"]
    assert [s["name"] for s in after["steps"]] == ["ingest_ipca", "ingest_weather"]
    assert ("run.interrupted", killed["run_id"]) in audit_actions(home)
    verify = cofre("audit", "verify", home=home)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # The interrupted run is in the ops tables too, as the dashboard's operations page reads them.
    import duckdb

    with duckdb.connect(str(home / "warehouse" / "published" / "cofre_ops.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("select distinct run_id, run_status from pipeline_runs").fetchall())
    assert statuses[killed["run_id"]] == "interrupted"
    assert statuses[after["run_id"]] == "succeeded"

    # Nothing is left to resume now.
    again = cofre("run", "--resume", home=home)
    assert again.returncode == 1 and "did not fail" in again.stdout


def test_leftovers_of_dead_processes_are_removed_at_the_next_start(tmp_path: Path) -> None:
    home = tmp_path / "state"
    published = home / "warehouse" / "published"
    published.mkdir(parents=True)
    gone, alive = dead_pid(), os.getpid()
    dead_files = [
        published / f".cofre_marts.duckdb.{gone}.tmp",
        published / f".cofre_marts.duckdb.{gone}.tmp.wal",
        published / f".cofre_ops.duckdb.{gone}.tmp",
    ]
    live_files = [
        published / f".cofre_marts.duckdb.{alive}.tmp",
        published / f".cofre_marts.duckdb.{alive}.tmp.wal",
    ]
    (home / "runs").mkdir()
    dead_files.append(home / "runs" / f"20260101T000000Z-abcdef.json.{gone}.tmp")
    for path in dead_files + live_files:
        path.write_bytes(b"x" * 1024)
    spark_dir = home / "tmp" / f"spark-{gone}" / "blockmgr-1"
    spark_dir.mkdir(parents=True)
    (spark_dir / "shuffle_0.data").write_bytes(b"x")

    result = cofre("run", "--scale", "0.01", "--select", "prepare_olist", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "removed 5 leftover(s) of dead runs" in result.stdout
    assert not any(path.exists() for path in dead_files)
    assert not (home / "tmp" / f"spark-{gone}").exists()
    assert all(path.exists() for path in live_files), "a live process's files must stay"
    assert any(action == "run.cleanup" for action, _ in audit_actions(home))


def test_an_unreachable_warehouse_stops_the_run_before_any_work(tmp_path: Path) -> None:
    home = tmp_path / "state"
    result = cofre("run", "--target", "postgres", home=home, COFRE_PG_PORT="1")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "cannot reach postgres@127.0.0.1:1" in output and "nothing was run" in output
    assert "Traceback" not in output
    assert not (home / "generated").exists() and not (home / "runs").exists()


def test_failed_bookkeeping_never_hides_the_run(tmp_path: Path) -> None:
    """The ops tables cannot be published (a file stands where their folder goes): the run still
    succeeds, says the bookkeeping failed in one line, and prints its summary."""
    home = tmp_path / "state"
    (home / "warehouse").mkdir(parents=True)
    (home / "warehouse" / "published").write_text("not a folder")
    result = cofre("run", "--scale", "0.01", "--select", "prepare_olist", home=home)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "is not in the ops tables" in output
    assert "Run " in output and "succeeded" in output and "Outputs" in output
    assert records(home)[-1]["status"] == "succeeded"


def test_kill_9_in_dbt_then_resume_publishes_and_a_kill_in_publish_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    """Killed while dbt builds silver (its child may outlive it), the run is resumed to a publish; then a
    publish killed while it writes its staged file leaves `.cofre_marts.duckdb.<pid>.tmp`, which the next
    start removes, and readers keep the previous published file meanwhile."""
    import duckdb

    home = tmp_path / "state"
    victim = start("run", "--scale", "0.01", home=home)
    wait_for(lambda: step_status(home, "transform_silver") == "running", "dbt to start", timeout=600)
    wait_for(lambda: bool(dbt_children(victim.pid)), "the dbt child", timeout=120)
    children = dbt_children(victim.pid)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    # dbt dies with cofre (PR_SET_PDEATHSIG): no orphan keeps the DuckDB file busy for the next start.
    wait_for(lambda: not any(is_alive(pid) for pid in children), "the dbt child to die", timeout=30)
    resumed = cofre("run", "--resume", home=home)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "from step transform_silver" in resumed.stdout
    published = home / "warehouse" / "published" / "cofre_marts.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        orders = con.execute("select count(*) from marts.fct_orders").fetchone()
    before = published.read_bytes()

    staged = published.parent
    publisher = start("run", "--select", "publish_marts", home=home)
    wait_for(lambda: any(staged.glob(f".cofre_marts.duckdb.{publisher.pid}.tmp")), "the staged file", 600)
    os.kill(publisher.pid, signal.SIGKILL)
    publisher.wait()
    left = sorted(p.name for p in staged.glob(f".*.{publisher.pid}.tmp*"))
    assert left, "the kill left the staged file"
    assert published.read_bytes() == before, "readers keep the previous published file"

    again = cofre("run", "--select", "publish_marts", home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "leftover(s) of dead runs" in again.stdout
    assert not list(staged.glob(".*.tmp*")), "no staged file is left"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_orders").fetchone() == orders
