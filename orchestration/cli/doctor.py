"""`cofre doctor`: checks that say, before a long run, what would make it fail and how to fix it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from orchestration.settings import Settings
from security.child_env import child_environment

PACKAGES = (
    "dlt",
    "dbt-core",
    "dbt-duckdb",
    "dbt-postgres",
    "duckdb",
    "pyspark",
    "apache-airflow",
    "astronomer-cosmos",
    "streamlit",
    "cryptography",
    "pyarrow",
)
MIN_FREE_GB = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings) -> Iterator[Check]:
    yield Check("python", sys.version_info[:2] == (3, 11), sys.version.split()[0] + " (3.11 expected)")
    for package in PACKAGES:
        try:
            yield Check(package, True, version(package))
        except PackageNotFoundError:
            yield Check(package, False, "not installed: run `make install`")
    yield _java()
    yield _state_dir(settings)
    yield _disk(settings)
    yield _duckdb(settings) if settings.target == "duckdb" else _postgres(settings)


def _java() -> Check:
    java = shutil.which("java")
    if java is None:
        return Check(
            "java", False, "not found: Spark needs Java 17 (apt-get install openjdk-17-jre-headless)"
        )
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False, env=child_environment("spark")
    )
    return Check("java", out.returncode == 0, (out.stderr or out.stdout).splitlines()[0])


def _state_dir(settings: Settings) -> Check:
    probe = settings.home / ".doctor-probe"
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        return Check(
            "state directory",
            False,
            f"{settings.home} is not writable ({error}); choose another with --home or COFRE_HOME",
        )
    return Check("state directory", True, str(settings.home))


def _disk(settings: Settings) -> Check:
    free_gb = shutil.disk_usage(settings.home).free / 1e9
    return Check(
        "free disk",
        free_gb >= MIN_FREE_GB,
        f"{free_gb:.1f} GB free under {settings.home} (scale 1 needs about {MIN_FREE_GB:g} GB)",
    )


def _duckdb(settings: Settings) -> Check:
    import duckdb

    path = settings.warehouse_path
    if not path.exists():
        return Check("warehouse (duckdb)", True, f"{path} will be created by the first run")
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as error:
        return Check(
            "warehouse (duckdb)",
            False,
            f"{path} is held by another process ({error}); stop it (a running `cofre run`?) and retry",
        )
    return Check("warehouse (duckdb)", True, str(path))


def _postgres(settings: Settings) -> Check:
    import psycopg2

    where = f"{settings.pg_user}@{settings.pg_host}:{settings.pg_port}"
    try:
        psycopg2.connect(
            host=settings.pg_host,
            port=settings.pg_port,
            user=settings.pg_user,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg2.OperationalError as error:
        first_line = str(error).strip().splitlines()[0]
        return Check("warehouse (postgres)", False, f"cannot reach {where}: {first_line}")
    return Check("warehouse (postgres)", True, where)
