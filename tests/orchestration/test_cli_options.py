"""`cofre` as a user types it: global options anywhere, and user errors in one or two lines (real
subprocesses, a fresh working directory, no COFRE_* variable but those a test sets)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
COFRE = [sys.executable, "-m", "orchestration"]


def cofre(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    base.update(COLUMNS="200", AIRFLOW_HOME=str(cwd / "airflow-of-the-test"), **(env or {}))
    return subprocess.run(
        [*COFRE, *args], capture_output=True, text=True, env=base, cwd=cwd, timeout=300, check=False
    )


def both_ways(command: list[str], home: Path) -> list[list[str]]:
    """`cofre --home H cmd args` and `cofre cmd args --home H`."""
    return [["--home", str(home), *command], [*command, "--home", str(home)]]


# Each command, an invocation that says which state directory it used (or fails naming it).
HOME_USERS = {
    "doctor": (["doctor"], 0, "state directory: {home}"),
    "docs": (["docs", "--no-serve"], 2, "no state directory at {home}"),
    "dashboard": (["dashboard"], 1, "No published marts at {home}"),
    "vault list": (["vault", "list"], 1, "No vault at {home}/vault/vault.json"),
    "vault get": (["vault", "get", "masking_key"], 2, "no state directory at {home}"),
    "audit tail": (["audit", "tail"], 2, "no state directory at {home}"),
    "audit verify": (["audit", "verify"], 2, "no state directory at {home}"),
    "lake info": (["lake", "info"], 0, "lake: file://{home}/lake"),
    "lake verify": (["lake", "verify"], 0, "Lake OK"),
    "lifecycle run": (["lifecycle", "run", "--dry-run"], 0, "to file://{home}/lake/cold"),
    "airflow env": (["airflow", "env"], 0, "COFRE_HOME={home}"),
    "generate": (["generate", "--out", "{home}/out", "--scale", "0.001"], 0, "written to"),
    "steps": (["steps"], 0, "ingest_olist"),
}


@pytest.mark.parametrize("name", HOME_USERS)
def test_home_works_before_and_after_every_command(name: str, tmp_path: Path) -> None:
    template, code, expected = HOME_USERS[name]
    for position in (0, 1):
        home = tmp_path / f"state{position}"
        args = both_ways([a.format(home=home) for a in template], home)[position]
        result = cofre(*args, cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == code, (args, output)
        assert expected.format(home=home) in output.replace("\n", ""), (args, output)
        assert "Traceback" not in output
    assert not (tmp_path / ".cofre").exists(), "a state directory was guessed in the working directory"


@pytest.mark.parametrize(
    "command", [["run"], ["ingest"], ["vault", "rotate"], ["lifecycle", "run"], ["docs", "--no-serve"]]
)
def test_home_reaches_the_locking_commands_both_ways(command: list[str], tmp_path: Path) -> None:
    """Held by this test, the state directory's lock makes each command name it at once: proof that the
    command used --home (before the fix `run`/`ingest` built a new state in ./.cofre)."""
    home = tmp_path / "state"
    home.mkdir()
    (home / "vault").mkdir()  # `vault rotate` wants an existing state directory, not a vault, to lock
    with open(home / "cofre.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write('{"pid": 4242, "purpose": "the test", "run_id": "r-test", "started_at": "now"}')
        lock.flush()
        for args in both_ways(command, home):
            result = cofre(*args, cwd=tmp_path)
            output = result.stdout + result.stderr
            assert result.returncode == 2, (args, output)
            assert f"{home} is in use by pid 4242" in output.replace("\n", ""), (args, output)
            assert "Traceback" not in output
    assert not (tmp_path / ".cofre").exists()


def test_home_given_twice_differently_is_refused(tmp_path: Path) -> None:
    result = cofre("--home", str(tmp_path / "a"), "doctor", "--home", str(tmp_path / "b"), cwd=tmp_path)
    assert result.returncode == 2
    assert "--home" in result.stderr and "given twice" in result.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


BAD_INVOCATIONS = {
    "run --scale -1": (["run", "--scale", "-1"], {}, ("--scale", "greater than 0", "at most 10")),
    "generate --scale 0": (
        ["generate", "--out", "x", "--scale", "0"],
        {},
        ("--scale", "greater than 0", "at most 10"),
    ),
    "--target bigquery": (["run", "--target", "bigquery"], {}, ("--target", "duckdb", "postgres")),
    "--api-mode bogus": (["run", "--api-mode", "bogus"], {}, ("--api-mode", "replay", "live")),
    "--select bogus": (
        ["run", "--select", "bogus"],
        {},
        ("--select", "bogus", "ingest_olist", "publish_marts"),
    ),
    "COFRE_TARGET=bigquery": (
        ["doctor"],
        {"COFRE_TARGET": "bigquery"},
        ("COFRE_TARGET", "duckdb", "postgres"),
    ),
    "COFRE_PG_PORT=abc": (["doctor"], {"COFRE_PG_PORT": "abc"}, ("COFRE_PG_PORT", "whole number")),
    "--scale abc": (["run", "--scale", "abc"], {}, ("--scale", "number", "cofre run --help")),
    "--resume with --select": (["run", "--resume", "--select", "gold"], {}, ("--resume", "--select")),
}


@pytest.mark.parametrize("name", BAD_INVOCATIONS)
def test_user_errors_are_short_exit_2_and_name_the_valid_values(name: str, tmp_path: Path) -> None:
    args, env, words = BAD_INVOCATIONS[name]
    result = cofre(*args, "--home", str(tmp_path / "state"), cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert 1 <= len(result.stderr.strip().splitlines()) <= 2, result.stderr
    for word in words:
        assert word in output, (word, output)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = cofre("--debug", "run", "--target", "bigquery", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "--target" in result.stderr


def test_every_group_and_command_takes_the_global_options() -> None:
    from orchestration.cli.app import build_cli

    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    for path, command in walk(build_cli(), "cofre"):
        names = {name for param in command.params for name in param.opts}
        assert {"--home", "--debug"} <= names, path


def test_vault_init_creates_the_vault_where_home_says_both_ways(tmp_path: Path) -> None:
    for position, args in enumerate(both_ways(["vault", "init"], tmp_path / "a")):
        home = tmp_path / f"home{position}"
        args = [str(home) if a == str(tmp_path / "a") else a for a in args]
        result = cofre(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (home / "vault" / "vault.json").is_file()
        listed = cofre("vault", "list", "--home", str(home), cwd=tmp_path)
        assert listed.returncode == 0 and "masking_key" in listed.stdout
    assert not (tmp_path / ".cofre").exists() and not (tmp_path / "a").exists()


def test_vault_get_outside_a_state_directory_names_it_and_creates_nothing(tmp_path: Path) -> None:
    """The analytics engineer's slip: `cofre vault get masking_key` in transform/ (no .cofre there) says
    where it looked and how to point at the right state, exit 2, and leaves the folder untouched."""
    got = cofre("vault", "get", "masking_key", cwd=tmp_path)
    assert got.returncode == 2, got.stdout + got.stderr
    assert "no state directory at" in got.stderr and "--home" in got.stderr
    assert "vault init" not in got.stderr + got.stdout
    assert not any(tmp_path.iterdir())
