"""The analytics engineer's loop (issue 17, item 3): in transform/, a plain `dbt build` (and `--select
stg_olist__orders+`, `dbt docs generate`) works with only COFRE_HOME known, the masking plugin reading the
key from the vault itself (an audited read); `cofre dbt build --target postgres` works with the secrets
only in dbt's process. After either, the shell's environment holds no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.services import open_vault
from orchestration.settings import Settings
from orchestration.warehouse.dbt_project import TRANSFORM_DIR
from security.masking import mask_token
from security.secret_names import MASKING_KEY, PG_PASSWORD
from tests.transform import helpers
from tests.transform.conftest import PG, REPO, ingest

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent


def shell_env(home: Path, **extra: str) -> dict[str, str]:
    """What a user's shell holds in the loop: a PATH with the venv, HOME, COFRE_HOME, and the test's
    XDG_CONFIG_HOME (where the key file of the state lives); nothing else, no secret."""
    return {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ["HOME"],
        "COFRE_HOME": str(home),
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        **extra,
    }


def in_shell(command: str, env: dict[str, str], cwd: Path) -> tuple[int, str, dict[str, str]]:
    """Run `command` in a shell, then `env` in the same shell: (exit code, output, the shell's env after)."""
    marker = "----- env after -----"
    done = subprocess.run(
        ["bash", "-c", f'{command}; rc=$?; echo "{marker}"; env -0; exit $rc'],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=600,
    )
    out, _, after = done.stdout.partition(marker.encode() + b"\n")
    variables = dict(item.split("=", 1) for item in after.decode().split("\0") if "=" in item)
    return done.returncode, out.decode(errors="replace") + done.stderr.decode(errors="replace"), variables


def assert_no_secret(variables: dict[str, str], settings: Settings) -> None:
    vault = open_vault(settings)
    secrets = [vault.get(name) for name in vault.names() if name in (MASKING_KEY, PG_PASSWORD)]
    forms = [form for secret in secrets if secret for form in helpers.secret_forms(secret)]
    leaked = [name for name, value in variables.items() for form in forms if form in value]
    assert leaked == [], leaked
    assert not [name for name in variables if name.startswith("DBT_ENV_SECRET") or name == "PGOPTIONS"]


def dbt_reads(home: Path) -> list[dict]:
    events = [json.loads(line) for line in (home / "audit" / "audit.jsonl").read_text().splitlines()]
    return [e for e in events if e["action"] == "secret.read" and e["actor"].startswith("dbt:")]


@pytest.fixture(scope="module")
def raw_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return ingest(tmp_path_factory.mktemp("dbt-loop") / "home")


def test_plain_dbt_build_in_transform_with_only_cofre_home(raw_home: Settings) -> None:
    home = raw_home.home
    code, output, after = in_shell("dbt build", shell_env(home), TRANSFORM_DIR)
    assert code == 0, output[-4000:]
    assert "Traceback" not in output
    # The plugin read the key from the vault itself: the tokens are the vault key's, and the read is audited.
    key = open_vault(raw_home).get(MASKING_KEY)
    with duckdb.connect(str(raw_home.warehouse_path), read_only=True) as con:
        raw = {r[0] for r in con.execute("select customer_id from raw_olist.customers").fetchall()}
        tokens = {r[0] for r in con.execute("select customer_token from silver.customers").fetchall()}
        assert con.execute("select count(*) from marts.fct_orders").fetchone()[0] > 0
    assert raw and tokens == {mask_token(value, key) for value in raw}
    assert [e["target"] for e in dbt_reads(home)] == [MASKING_KEY]
    assert_no_secret(after, raw_home)
    assert (
        helpers.files_containing(
            [TRANSFORM_DIR / "target", TRANSFORM_DIR / "logs"], helpers.secret_forms(key)
        )
        == []
    )


def test_select_downstream_and_docs_generate(raw_home: Settings) -> None:
    env = shell_env(raw_home.home)
    code, output, after = in_shell(
        "dbt build --select stg_olist__orders+ && dbt docs generate", env, TRANSFORM_DIR
    )
    assert code == 0, output[-4000:]
    assert (TRANSFORM_DIR / "target" / "catalog.json").exists()
    assert_no_secret(after, raw_home)


def test_missing_state_is_one_clear_line(tmp_path: Path) -> None:
    code, output, _ = in_shell(
        "dbt build --select stg_olist__orders", shell_env(tmp_path / "none"), TRANSFORM_DIR
    )
    assert code != 0
    assert "Traceback" not in output
    assert "No cofre state directory with a vault at" in output and "cofre run" in output
    assert not (tmp_path / "none").exists()


def test_cofre_dbt_build_on_postgres(tmp_path: Path, pg_session_database: str) -> None:
    settings = ingest(tmp_path / "home", target="postgres", pg_database=pg_session_database)
    env = shell_env(settings.home, COFRE_PG_DATABASE=pg_session_database)
    code, output, after = in_shell(
        f"{sys.executable} -m orchestration dbt build --target postgres",
        env,
        REPO / "transform",
    )
    assert code == 0, output[-4000:]
    import psycopg2

    key = open_vault(settings).get(MASKING_KEY)
    connection = psycopg2.connect(dbname=pg_session_database, **PG)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select customer_id from raw_olist.customers")
            raw = {r[0] for r in cursor.fetchall()}
            cursor.execute("select customer_token from silver.customers")
            tokens = {r[0] for r in cursor.fetchall()}
    finally:
        connection.close()
    assert raw and tokens == {mask_token(value, key) for value in raw}
    assert key not in output
    assert_no_secret(after, settings)
    # Artifacts went to the state directory, not to transform/target.
    assert (settings.home / "dbt" / "target" / "run_results.json").exists()
