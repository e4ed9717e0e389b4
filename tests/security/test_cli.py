"""`cofre vault ...` and `cofre audit ...`, driven through their Typer apps and as real processes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import Result
from typer.testing import CliRunner

from orchestration.cli.commands import audit as audit_cli
from orchestration.cli.commands import vault as vault_cli
from security.keys import encode_b64, generate_master_key
from security.state import default_config_home, locate_state
from security.vault import Vault
from tests.security.helpers import files_containing, run_python

MARKERS = {"pg_password": "pg-marker-Zq81!x", "openweather_api_key": "ow-marker-77aa11bb"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def key_file_of(home: Path) -> Path:
    """The vault key file of a state directory: per user, outside the state directory."""
    return locate_state(home, config_home=default_config_home(os.environ)).key_file


Invoke = Callable[..., Result]


@pytest.fixture
def cli(home: Path) -> Invoke:
    """Run a command of a sub-app with COFRE_HOME at `home` (and a wide terminal for tables)."""
    runner = CliRunner()

    def invoke(
        module: ModuleType, *args: str, input_text: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        full_env = {"COFRE_HOME": str(home), "COLUMNS": "200", **(env or {})}
        return runner.invoke(module.app, list(args), input=input_text, env=full_env)

    return invoke


def test_full_lifecycle_never_shows_or_stores_a_value(cli: Invoke, home: Path) -> None:
    init = cli(vault_cli, "init")
    assert init.exit_code == 0, init.output
    assert "masking_key, audit_hmac_key, lake_access_key, lake_secret_key" in init.output
    key_file = key_file_of(home)
    assert not key_file.is_relative_to(home) and str(key_file) in init.output.replace("\n", "")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert not list(home.rglob("*.key"))

    for name, value in MARKERS.items():
        stored = cli(vault_cli, "set", name, input_text=value + "\n")
        assert stored.exit_code == 0, stored.output
        assert value not in stored.output
    got = cli(vault_cli, "get", "pg_password")
    assert got.exit_code == 0 and got.stdout == MARKERS["pg_password"]  # exactly the value, for piping

    listed = cli(vault_cli, "list")
    assert listed.exit_code == 0
    assert "pg_password" in listed.output and "openweather_api_key" in listed.output

    rotated = cli(vault_cli, "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "from key version 1 to 2" in rotated.output.replace("\n", " ")
    assert cli(vault_cli, "verify").exit_code == 0
    assert cli(vault_cli, "get", "openweather_api_key").stdout == MARKERS["openweather_api_key"]

    verified = cli(audit_cli, "verify")
    assert verified.exit_code == 0 and "Audit trail OK" in verified.output
    tail = cli(audit_cli, "tail", "--json", "-n", "50")
    actions = [(e["action"], e["target"]) for e in map(json.loads, tail.stdout.splitlines())]
    assert actions[0][0] == "vault.init"
    assert ("secret.write", "pg_password") in actions
    assert ("secret.read", "pg_password") in actions
    assert ("vault.rotate", str(home / "vault" / "vault.json")) in actions
    table = cli(audit_cli, "tail", "-n", "3")
    assert table.exit_code == 0 and "secret.read" in table.output

    all_values = sorted(Vault(home / "vault" / "vault.json", key_file=key_file).secret_values())
    outputs = listed.output + rotated.output + verified.output + tail.output + table.output
    assert [v for v in all_values if v in outputs] == []
    assert list(files_containing(home, all_values)) == []


def test_init_refuses_to_clobber(cli: Invoke) -> None:
    assert cli(vault_cli, "init").exit_code == 0
    again = cli(vault_cli, "init")
    assert again.exit_code == 1 and "already exists" in again.output


def test_insecure_key_file_is_refused_with_the_fix(cli: Invoke, home: Path) -> None:
    cli(vault_cli, "init")
    key_file_of(home).chmod(0o644)
    listed = cli(vault_cli, "list")
    assert listed.exit_code == 1
    assert "chmod 600" in listed.output and "0644" in listed.output


def test_missing_vault_and_missing_secret(cli: Invoke) -> None:
    missing = cli(vault_cli, "list")
    assert missing.exit_code == 1 and "cofre vault init" in missing.output
    cli(vault_cli, "init")
    absent = cli(vault_cli, "get", "nope")
    assert absent.exit_code == 1 and "No secret named 'nope'" in absent.output
    empty = cli(vault_cli, "set", "blank", input_text="")
    assert empty.exit_code == 1 and "empty value" in empty.output


def test_key_from_environment(cli: Invoke, home: Path) -> None:
    env = {"COFRE_VAULT_KEY": encode_b64(generate_master_key())}
    assert cli(vault_cli, "init", env=env).exit_code == 0
    assert not key_file_of(home).exists()
    assert cli(vault_cli, "set", "x", input_text="env-key-value", env=env).exit_code == 0
    assert cli(vault_cli, "get", "x", env=env).stdout == "env-key-value"
    refused = cli(vault_cli, "rotate", env=env)
    assert refused.exit_code == 1 and "rotate-keys.md" in refused.output
    wrong = cli(vault_cli, "list", env={"COFRE_VAULT_KEY": encode_b64(generate_master_key())})
    assert wrong.exit_code == 1 and "does not open" in wrong.output


def test_delete_protects_generated_secrets(cli: Invoke) -> None:
    cli(vault_cli, "init")
    cli(vault_cli, "set", "scratch", input_text="scratch-value")
    protected = cli(vault_cli, "delete", "masking_key", "--yes")
    assert protected.exit_code == 1 and "--force" in protected.output
    assert cli(vault_cli, "delete", "scratch", input_text="n\n").exit_code == 1  # not confirmed
    assert cli(vault_cli, "delete", "scratch", "--yes").exit_code == 0
    assert "scratch" not in cli(vault_cli, "list").output


def test_audit_verify_fails_on_tampering(cli: Invoke, home: Path) -> None:
    cli(vault_cli, "init")
    cli(vault_cli, "set", "a", input_text="first-value")
    cli(vault_cli, "set", "b", input_text="second-value")
    trail = home / "audit" / "audit.jsonl"
    lines = trail.read_text().splitlines(keepends=True)
    trail.write_text("".join(lines[:1] + lines[2:]))
    verified = cli(audit_cli, "verify")
    assert verified.exit_code == 1
    assert "TAMPERED at line 2 (seq 3)" in verified.output


def test_vault_tampering_is_reported(cli: Invoke, home: Path) -> None:
    cli(vault_cli, "init")
    path = home / "vault" / "vault.json"
    path.write_bytes(path.read_bytes()[:-30])
    verified = cli(vault_cli, "verify")
    assert verified.exit_code == 1 and "restore it from a backup" in verified.output


@pytest.mark.integration
def test_commands_in_real_processes(home: Path, subprocess_env: dict[str, str]) -> None:
    vault_app = "from orchestration.cli.commands.vault import app; app()"
    audit_app = "from orchestration.cli.commands.audit import app; app()"
    env = {**subprocess_env, "COFRE_HOME": str(home)}
    assert run_python(vault_app, "init", env=env).returncode == 0
    stored = run_python(vault_app, "set", "pg_password", env=env, input_text=MARKERS["pg_password"] + "\n")
    assert stored.returncode == 0, stored.stderr
    got = run_python(vault_app, "get", "pg_password", env=env)
    assert (got.returncode, got.stdout) == (0, MARKERS["pg_password"])
    listed = run_python(vault_app, "list", env=env)
    assert "pg_password" in listed.stdout and MARKERS["pg_password"] not in listed.stdout + listed.stderr
    verified = run_python(audit_app, "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert list(files_containing(home, [MARKERS["pg_password"]])) == []
