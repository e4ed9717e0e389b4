"""Spark for cofre, configured in one place: sessions, spark-submit, and S3A access to the lake.

- `spark_settings()` is the whole tuning for this data size: local[2] or a cluster master, shuffle
  partitions scaled with the data (adaptive execution coalesces them further), driver memory, UTC session
  time zone, the UI off for the embedded run, and the driver bound to 127.0.0.1 (SPARK_LOCAL_IP) in local
  mode.
- `s3a_conf()` adds the lake's S3 endpoint: path-style access, TLS unless the endpoint is this machine,
  and credentials taken by S3A from the process environment (never a `--conf` value, never in a log).
- `run_gold()` runs every gold job on one in-process session; `submit.py` sends them to a cluster master
  through spark-submit; `jvm.py` launches the driver JVM and builds every Spark child's environment.
- With an S3 lake the S3A jars of docker/spark/jars.lock (installed by `make install`) are on the class
  path (`s3a_jars`) and the key pair is only in the driver JVM's environment.

Nothing here reads the environment or config files: the caller passes Settings and the vault.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.gold.jvm import (
    LOCAL_IP,
    SparkJobFailed,
    ensure_gateway,
    spark_home,
)
from security.credentials import S3A_ENV_CREDENTIALS, spark_conf, spark_env
from spark_jobs.contract import GOLD_JOBS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from orchestration.settings import Settings
    from security.vault import Vault

REPO_ROOT = Path(__file__).resolve().parents[2]
JOBS_DIR = REPO_ROOT / "spark_jobs"
RUN_ALL = "run_all"
"""spark_jobs/run_all.py: every gold job in one application (what a cluster master is sent)."""

S3A_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3AFileSystem"
HADOOP_AWS_PACKAGE = "org.apache.hadoop:hadoop-aws:3.5.0"
"""hadoop-aws of exactly the Hadoop version of pyspark's own hadoop-client jars (3.5.0 for pyspark 4.3.0);
with the AWS SDK v2 `bundle` it was built with, pinned with SHA-256s in `JARS_LOCK`."""
JARS_LOCK = REPO_ROOT / "docker" / "spark" / "jars.lock"
"""The one pinned list of S3A jars: `make install` fetches it into `installed_jars_dir()`, the images
into Spark's own jars/ (docker/spark/fetch_jars.py)."""

NEEDS_VAULT = "an S3 lake needs the vault for its key pair (S3A reads it from the environment)"


@dataclass(frozen=True)
class SparkSettings:
    """How big a Spark to run. Defaults fit a 2-core laptop and the Olist data up to scale 10."""

    master: str = "local[2]"
    shuffle_partitions: int = 4
    driver_memory: str = "1g"
    executor_memory: str = "1g"
    ui: bool = False
    app_name: str = "cofre-gold"
    local_dir: str | None = None
    """Scratch space of the driver (and local executors): shuffle, block manager and JVM temp files."""
    log_file: str | None = None
    """Where the in-process driver JVM's own output goes (None: this process's terminal)."""
    extra: Mapping[str, str] = field(default_factory=dict)

    def conf(self) -> dict[str, str]:
        """The `--conf` values (all non-secret) of these settings."""
        conf = {
            "spark.master": self.master,
            "spark.app.name": self.app_name,
            "spark.driver.memory": self.driver_memory,
            "spark.executor.memory": self.executor_memory,
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.default.parallelism": str(self.shuffle_partitions),
            "spark.sql.adaptive.enabled": "true",
            "spark.sql.adaptive.coalescePartitions.enabled": "true",
            "spark.sql.adaptive.skewJoin.enabled": "true",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
            "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
            "spark.ui.enabled": str(self.ui).lower(),
            "spark.ui.showConsoleProgress": "false",
            "spark.log.level": "WARN",
            # secrets never go in conf, but if one ever did, keep it out of the UI and event logs
            "spark.redaction.regex": "(?i)secret|password|token|access[.]?key|credential",
        }
        if self.master.startswith("local"):
            conf["spark.driver.host"] = LOCAL_IP
            conf["spark.driver.bindAddress"] = LOCAL_IP
        java_options = []
        if self.local_dir is not None:
            conf["spark.local.dir"] = self.local_dir
            java_options.append(f"-Djava.io.tmpdir={self.local_dir}")
        if in_process(self.master):
            # one short-lived JVM doing everything on 2 cores: broadcast every silver-sized join side
            # (no shuffle of the large side), and JIT with C1 only (C2's compiler threads cost more than
            # they return in a run of a minute)
            conf["spark.sql.autoBroadcastJoinThreshold"] = str(64 * 1024 * 1024)
            java_options.append("-XX:TieredStopAtLevel=1")
        if java_options:
            conf["spark.driver.extraJavaOptions"] = " ".join(java_options)
        return {**conf, **self.extra}


def in_process(master: str) -> bool:
    """Whether a master runs in the calling process (`local`, `local[N]`, `local[*]`, `local[N,F]`);
    every other master needs spark-submit (a cluster, or `local-cluster[…]` with executor JVMs)."""
    return re.fullmatch(r"local(\[(\d+|\*)(,\d+)?\])?", master) is not None


def shuffle_partitions_for(scale: float) -> int:
    """Shuffle partitions for an Olist scale: ~16 per scale unit (SF1: 16, SF10: 160), at least 4.

    Adaptive execution coalesces small ones, so the value is an upper bound, not a cost.
    """
    return max(4, min(400, round(16 * scale)))


def spark_settings(
    settings: Settings, *, master: str = "local[2]", driver_memory: str | None = None
) -> SparkSettings:
    """The Spark of a run: sized by the data scale (driver memory 1 GB to SF 1, 2 GB above), its scratch
    space under the state directory (a killed run's is removed at the next start, never left in /tmp)."""
    local_dir = settings.spark_local_dir
    local_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.logs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SparkSettings(
        master=master,
        shuffle_partitions=shuffle_partitions_for(settings.scale),
        driver_memory=driver_memory or ("2g" if settings.scale > 1 else "1g"),
        local_dir=str(local_dir),
        log_file=str(settings.logs_dir / "spark.log"),
    )


def s3a_conf(*, endpoint: str | None, region: str = "us-east-1") -> dict[str, str]:
    """Non-secret S3A configuration of the lake: endpoint, path style, TLS policy, credential source.

    Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the Spark process's environment
    (`security.credentials.spark_env`), so this dict never holds a key.
    """
    conf = {
        "spark.hadoop.fs.s3a.impl": S3A_FILESYSTEM,
        "spark.hadoop.fs.s3a.endpoint.region": region,
        "spark.hadoop.fs.s3a.aws.credentials.provider": S3A_ENV_CREDENTIALS,
        "spark.hadoop.fs.s3a.committer.name": "magic",
    }
    conf.update(spark_conf(s3_endpoint=endpoint))
    return conf


def spark_uri(url: str) -> str:
    """A lake URL as Spark (Hadoop) names it: `s3://b/p` -> `s3a://b/p`; file URLs unchanged."""
    return "s3a://" + url.removeprefix("s3://") if url.startswith("s3://") else url


def layer_uris(settings: Settings) -> tuple[str, str]:
    """(silver, gold) URIs of the lake of these settings, for Spark."""
    root = spark_uri(settings.lake_location)
    return f"{root}/silver", f"{root}/gold"


def lake_conf(settings: Settings) -> dict[str, str]:
    """S3A configuration when the lake is on S3 (with the S3A jars on the driver's and the executors'
    class path when Spark's own jars lack them); nothing for a local lake."""
    if not settings.lake_location.startswith("s3://"):
        return {}
    conf = s3a_conf(endpoint=settings.s3_endpoint_url, region=settings.s3_region)
    jars = s3a_jars()
    if jars:
        classpath = os.pathsep.join(str(jar) for jar in jars)
        conf["spark.driver.extraClassPath"] = classpath
        conf["spark.executor.extraClassPath"] = classpath
    return conf


def installed_jars_dir() -> Path:
    """Where `make install` puts the jars of `JARS_LOCK`: `.venv/share/cofre/spark-jars`."""
    return Path(sys.prefix) / "share" / "cofre" / "spark-jars"


def s3a_jars() -> list[Path]:
    """The S3A jars to add to Spark's class path: none when Spark's own jars/ carry hadoop-aws (the images),
    else the jars of `JARS_LOCK` that `make install` fetched. Missing jars fail with what to run."""
    if any((spark_home() / "jars").glob("hadoop-aws-*.jar")):
        return []
    names = [
        line.split()[0].rsplit("/", 1)[-1]
        for line in JARS_LOCK.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    folder = installed_jars_dir()
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise SparkJobFailed(
            f"the S3A jars {', '.join(missing)} are not in {folder}: run `make install` (or `make jars`), "
            "which fetches docker/spark/jars.lock from Maven Central"
        )
    return [folder / name for name in names]


def build_session(
    spark: SparkSettings, conf: Mapping[str, str] | None = None, *, env: Mapping[str, str] | None = None
) -> SparkSession:
    """A SparkSession with these settings (in-process driver). SPARK_LOCAL_IP is set for the JVM the
    session starts, so Spark never binds to or advertises another interface.

    `env` (the lake's key pair for S3A's environment credential provider) goes into the environment of
    the driver JVM only: the JVM is launched here with it (`_launch_gateway`), and this process's
    `os.environ` never holds it. A JVM already running without exactly these variables is replaced; a
    running SparkContext is refused, since it would keep its own environment."""
    from pyspark.sql import SparkSession

    all_conf = {**spark.conf(), **(conf or {})}
    ensure_gateway(all_conf, env or {}, Path(spark.log_file) if spark.log_file else None)
    builder = SparkSession.builder
    for key, value in all_conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    _quiet(session, "org.apache.spark.sql.execution.window.WindowExec")  # global windows are intended
    return session


def _quiet(session: SparkSession, logger: str) -> None:
    """Only errors from `logger` (a warning Spark repeats for every small global window)."""
    jvm = session.sparkContext._jvm
    if jvm is not None:
        log4j = jvm.org.apache.logging.log4j
        log4j.core.config.Configurator.setLevel(logger, log4j.Level.ERROR)


@contextmanager
def session(
    spark: SparkSettings, conf: Mapping[str, str] | None = None, *, env: Mapping[str, str] | None = None
) -> Iterator[SparkSession]:
    """A session for the block; stopped afterwards unless it was already running (a notebook, a test
    session, an Airflow worker's session are left to their owner)."""
    from pyspark.sql import SparkSession

    existing = SparkSession.getActiveSession()
    started = build_session(spark, conf, env=env)
    try:
        yield started
    finally:
        if existing is None:
            started.stop()


def run_job(
    spark: SparkSession, job: str, silver_uri: str, gold_uri: str, **options: object
) -> dict[str, str]:
    """Run one job's `run()` on an existing session (the embedded runner shares one session)."""
    if job not in (*GOLD_JOBS, RUN_ALL):
        raise ValueError(f"unknown gold job {job!r}; jobs are {', '.join(GOLD_JOBS)}")
    module = importlib.import_module(f"spark_jobs.{job}")
    outputs: dict[str, str] = module.run(spark, silver_uri, gold_uri, **options)
    return outputs


def run_gold(
    settings: Settings,
    *,
    spark: SparkSettings | None = None,
    jobs: Sequence[str] = GOLD_JOBS,
    silver_uri: str | None = None,
    gold_uri: str | None = None,
    vault: Vault | None = None,
    on_job: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Every gold job on one in-process session; seconds of Spark start-up and of each job. On an S3 lake
    the jobs read and write s3a:// directly, S3A's keys from `vault` in the driver JVM's environment."""
    spark = spark or spark_settings(settings)
    default_silver, default_gold = layer_uris(settings)
    conf = lake_conf(settings)
    if conf and vault is None:
        raise SparkJobFailed(NEEDS_VAULT)
    secrets = spark_env(vault, s3=True, postgres=False) if conf and vault is not None else None
    timings: dict[str, float] = {}
    started = time.perf_counter()
    from spark_jobs._common import share_silver

    silver = silver_uri or default_silver
    with session(spark, conf, env=secrets) as active, share_silver(active, silver):
        timings["spark_startup"] = time.perf_counter() - started
        for job in jobs:
            began = time.perf_counter()
            run_job(active, job, silver, gold_uri or default_gold)
            timings[job] = time.perf_counter() - began
            if on_job is not None:  # progress: one more job done
                on_job(job)
    return timings


def java_available() -> bool:
    return shutil.which("java") is not None
