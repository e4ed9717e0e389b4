"""`cofre doctor`: checks that say, before a long run, what would make it fail and how to fix it.

`cofre run` runs the checks its steps need (`preflight`) before doing any work, so an unreachable
warehouse or lake stops it at once with the check's message, not half-way with a library's traceback.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from orchestration.settings import Settings
from security.child_env import child_environment

if TYPE_CHECKING:
    from orchestration.graph import Step

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
SPARK_STEPS = ("gold",)
"""Steps that start Spark, hence need Java."""


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
    if settings.lake_location.startswith("s3://"):
        yield _s3_endpoint(settings)


def preflight(settings: Settings, steps: Iterable[Step]) -> list[Check]:
    """The failed checks among those the run of `steps` needs: the state directory, the warehouse, the
    lake's S3 endpoint, and Java if a step starts Spark."""
    names = {step.name for step in steps}
    checks = [
        _state_dir(settings),
        _duckdb(settings) if settings.target == "duckdb" else _postgres(settings),
    ]
    if settings.lake_location.startswith("s3://"):
        checks.append(_s3_endpoint(settings))
    if names & set(SPARK_STEPS) and settings.spark_master.startswith("local"):
        checks.append(_java())
    return [check for check in checks if not check.ok]


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


def _s3_endpoint(settings: Settings) -> Check:
    """The lake's S3 endpoint accepts connections (credentials are checked by the run itself)."""
    if settings.s3_endpoint_url is None:
        return Check("lake (s3)", True, f"{settings.lake_location} on AWS (COFRE_S3_ENDPOINT_URL unset)")
    url = urlsplit(settings.s3_endpoint_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=5).close()
    except OSError as error:
        return Check(
            "lake (s3)",
            False,
            f"cannot reach {settings.s3_endpoint_url} ({error.strerror or error}); start the S3 server or "
            "correct COFRE_S3_ENDPOINT_URL",
        )
    return Check("lake (s3)", True, f"{settings.lake_location} via {settings.s3_endpoint_url}")
