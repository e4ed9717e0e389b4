"""Item 2 of issue 14 (security half): the master key in the environment of child processes."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from security.child_env import child_environment, forget_master_key
from security.errors import ChildEnvironmentError
from security.keys import encode_b64, generate_master_key
from tests.security.helpers import REPO

# A child that starts a grandchild with the environment it inherited (as spark-submit starts java, and
# java its Python workers); the grandchild prints its pid once it runs, and both wait to be killed.
SPAWNER = """
import subprocess, sys, time
code = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
grandchild = subprocess.Popen([sys.executable, "-c", code])
time.sleep(60)
"""


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if item)


def _descendant_environs(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str], bytes]:
    """Start SPAWNER with `env`; the environments of the child and grandchild, as the kernel shows
    them to anyone who may read /proc/<pid>/environ, and the raw bytes of both."""
    child = subprocess.Popen(
        [sys.executable, "-c", SPAWNER], env=env, stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        raw = b"".join(Path(f"/proc/{pid}/environ").read_bytes() for pid in (child.pid, grandchild))
        return _environ_of(child.pid), _environ_of(grandchild), raw
    finally:
        child.kill()
        child.wait()
        with contextlib.suppress(ProcessLookupError, UnboundLocalError):
            os.kill(grandchild, signal.SIGKILL)


@pytest.fixture
def parent_environ(tmp_path: Path) -> dict[str, str]:
    """What a cofre process run the stack's way holds: the master key and a mix of other variables."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "JAVA_HOME": "/usr/lib/jvm/java-17",
        "COFRE_VAULT_KEY": encode_b64(generate_master_key()),
        "COFRE_VAULT_KEY_FILE": "/run/secrets/cofre.key",
        "COFRE_HOME": str(tmp_path / "state"),
        "COFRE_PG_READER_PASSWORD_FILE": "/run/secrets/reader",
        "COFRE_LAKE_URL": "s3://lake/cofre",
        "PGPASSWORD": secrets.token_urlsafe(12),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(12),
        "DBT_ENV_SECRET_MASKING_KEY": secrets.token_urlsafe(12),
        "DBT_PROFILES_DIR": "/srv/transform",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_AUTHENTICATE_SECRET": secrets.token_urlsafe(12),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": secrets.token_urlsafe(12),
        "AIRFLOW__SECRETS__BACKEND": "security.airflow_backend.CofreVaultSecretsBackend",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:pw@db/airflow",
        "HTTPS_PROXY": "http://user:proxy-password@proxy:3128",
        "NO_PROXY": "127.0.0.1,localhost",
        "OPENWEATHER_TOKEN": secrets.token_urlsafe(12),
        "SOMETHING_ELSE": "x",
    }


def test_allow_list_per_purpose(parent_environ: dict[str, str]) -> None:
    # AIRFLOW_HOME for every child: dlt imports Airflow, which creates ~/airflow when it is unset.
    common = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "JAVA_HOME", "NO_PROXY", "COFRE_HOME", "AIRFLOW_HOME"}
    common |= {"COFRE_VAULT_KEY_FILE", "COFRE_PG_READER_PASSWORD_FILE", "COFRE_LAKE_URL"}
    dbt = child_environment("dbt", environ=parent_environ, secrets={"DBT_ENV_SECRET_MASKING_KEY": "k" * 16})
    assert set(dbt) == common | {"DBT_PROFILES_DIR", "DBT_ENV_SECRET_MASKING_KEY"}
    assert dbt["DBT_ENV_SECRET_MASKING_KEY"] == "k" * 16  # the named secret, not the inherited one
    spark = child_environment("spark", environ=parent_environ, secrets={"AWS_SECRET_ACCESS_KEY": "s3-secret"})
    assert set(spark) == common | {"SPARK_LOCAL_IP", "PYSPARK_PYTHON", "AWS_SECRET_ACCESS_KEY"}
    airflow = child_environment("airflow", environ=parent_environ)
    assert set(airflow) == common | {"AIRFLOW__CORE__LOAD_EXAMPLES"}  # *SECRETS* names are not inherited
    backend = {"AIRFLOW__SECRETS__BACKEND": parent_environ["AIRFLOW__SECRETS__BACKEND"]}
    airflow = child_environment("airflow", environ=parent_environ, settings=backend)  # the caller vouches
    assert airflow["AIRFLOW__SECRETS__BACKEND"] == backend["AIRFLOW__SECRETS__BACKEND"]
    port = {"STREAMLIT_SERVER_PORT": "8501"}
    streamlit = child_environment("streamlit", environ=parent_environ, settings=port)
    assert set(streamlit) == common | {"STREAMLIT_SERVER_PORT"}
    with pytest.raises(ValueError, match="unknown child purpose"):
        child_environment("shell", environ=parent_environ)


def test_master_key_is_refused_by_name_and_by_value(parent_environ: dict[str, str]) -> None:
    key = parent_environ["COFRE_VAULT_KEY"]
    with pytest.raises(ChildEnvironmentError, match="no child process gets the vault's master key"):
        child_environment("dbt", environ=parent_environ, secrets={"COFRE_VAULT_KEY": key})
    with pytest.raises(ChildEnvironmentError, match="DBT_ENV_SECRET_X holds the vault's master key"):
        child_environment("dbt", environ=parent_environ, secrets={"DBT_ENV_SECRET_X": key})
    with pytest.raises(ChildEnvironmentError, match="COFRE_SOMETHING holds the vault's master key"):
        child_environment("python", environ={**parent_environ, "COFRE_SOMETHING": f"x{key}x"})


def test_no_descendant_of_an_allow_listed_child_has_the_master_key(parent_environ: dict[str, str]) -> None:
    key = parent_environ["COFRE_VAULT_KEY"]
    # The pattern the issue found in orchestration (`{**os.environ, **secrets}`): the key reaches both.
    leaky_child, leaky_grandchild, _ = _descendant_environs({**parent_environ, "AWS_ACCESS_KEY_ID": "A"})
    assert leaky_child["COFRE_VAULT_KEY"] == key and leaky_grandchild["COFRE_VAULT_KEY"] == key

    env = child_environment(
        "spark",
        environ=parent_environ,
        secrets={"AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "s3-secret-for-this-child"},
    )
    child, grandchild, raw = _descendant_environs(env)
    for environ in (child, grandchild):
        assert "COFRE_VAULT_KEY" not in environ
        assert environ["AWS_SECRET_ACCESS_KEY"] == "s3-secret-for-this-child"
        assert "PGPASSWORD" not in environ and "AIRFLOW__CORE__FERNET_KEY" not in environ
    assert key.encode() not in raw
    assert parent_environ["PGPASSWORD"].encode() not in raw


def test_forget_master_key_keeps_it_from_children_that_inherit(parent_environ: dict[str, str]) -> None:
    """Children started by libraries with the inherited environment (pyspark's JVM, dlt, Airflow), in a
    real process that read COFRE_VAULT_KEY into its settings and then forgot it, as the CLI should."""
    code = """
import os, subprocess, sys
key = os.environ["COFRE_VAULT_KEY"]  # the settings read it once
from security.child_env import forget_master_key
assert forget_master_key(os.environ) and not forget_master_key(os.environ)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
sys.stdin.read()
child.kill()
"""
    env = {**parent_environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        parent.communicate("", timeout=30)
    assert b"COFRE_VAULT_KEY=" not in raw and parent_environ["COFRE_VAULT_KEY"].encode() not in raw
    assert forget_master_key({}) is False
