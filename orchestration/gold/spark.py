"""Spark for cofre, configured in one place: sessions, spark-submit, and S3A access to the lake.

- `spark_settings()` is the whole tuning for this data size: local[2] or a cluster master, shuffle
  partitions scaled with the data (adaptive execution coalesces them further), driver memory, UTC session
  time zone, the UI off for the embedded run, and the driver bound to 127.0.0.1 (SPARK_LOCAL_IP) in local
  mode.
- `s3a_conf()` adds the lake's S3 endpoint: path-style access, TLS unless the endpoint is this machine,
  and credentials taken by S3A from the process environment (never a `--conf` value, never in a log).
- `submit()` runs one job of spark_jobs/: in this process (`mode="local"`), or as a child
  `spark-submit` whose environment alone carries the vault's S3 key pair (`mode="submit"`).
- With an S3 lake the in-process session's JVM is launched by `_launch_gateway` with the key pair in its
  own environment (never in this process's `os.environ`, never in any other child), and the S3A jars of
  docker/spark/jars.lock (installed by `make install`) on its class path (`s3a_jars`).

Nothing here reads the environment or config files: the caller passes Settings and the vault.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from security.credentials import S3A_ENV_CREDENTIALS, spark_conf, spark_env
from security.redaction import redact
from spark_jobs.contract import GOLD_JOBS

if TYPE_CHECKING:
    from py4j.java_gateway import JavaGateway
    from pyspark.sql import SparkSession

    from orchestration.settings import Settings
    from security.vault import Vault

REPO_ROOT = Path(__file__).resolve().parents[2]
JOBS_DIR = REPO_ROOT / "spark_jobs"
RUN_ALL = "run_all"
"""spark_jobs/run_all.py: every gold job in one application (what a cluster master is sent)."""

LOCAL_IP = "127.0.0.1"
S3A_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3AFileSystem"
HADOOP_AWS_PACKAGE = "org.apache.hadoop:hadoop-aws:3.5.0"
"""hadoop-aws of exactly the Hadoop version of pyspark's own hadoop-client jars (3.5.0 for pyspark 4.3.0);
with the AWS SDK v2 `bundle` it was built with, pinned with SHA-256s in `JARS_LOCK`."""
JARS_LOCK = REPO_ROOT / "docker" / "spark" / "jars.lock"
"""The one pinned list of S3A jars: `make install` fetches it into `installed_jars_dir()`, the images
into Spark's own jars/ (docker/spark/fetch_jars.py)."""

SubmitMode = Literal["local", "submit"]
NEEDS_VAULT = "an S3 lake needs the vault for its key pair (S3A reads it from the environment)"


class SparkJobFailed(RuntimeError):
    """A gold job failed; the message carries the (redacted) end of its output."""


@dataclass(frozen=True)
class SparkSettings:
    """How big a Spark to run. Defaults fit a 2-core laptop and the Olist data up to scale 10."""

    master: str = "local[2]"
    shuffle_partitions: int = 4
    driver_memory: str = "1g"
    executor_memory: str = "1g"
    ui: bool = False
    app_name: str = "cofre-gold"
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
        if in_process(self.master):
            # one short-lived JVM doing everything on 2 cores: broadcast every silver-sized join side
            # (no shuffle of the large side), and JIT with C1 only (C2's compiler threads cost more than
            # they return in a run of a minute)
            conf["spark.sql.autoBroadcastJoinThreshold"] = str(64 * 1024 * 1024)
            conf["spark.driver.extraJavaOptions"] = "-XX:TieredStopAtLevel=1"
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
    """The Spark of a run: sized by the data scale (driver memory 1 GB to SF 1, 2 GB above)."""
    return SparkSettings(
        master=master,
        shuffle_partitions=shuffle_partitions_for(settings.scale),
        driver_memory=driver_memory or ("2g" if settings.scale > 1 else "1g"),
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

    os.environ.setdefault("SPARK_LOCAL_IP", LOCAL_IP)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    all_conf = {**spark.conf(), **(conf or {})}
    if env:
        _ensure_gateway(all_conf, env)
    builder = SparkSession.builder
    for key, value in all_conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    _quiet(session, "org.apache.spark.sql.execution.window.WindowExec")  # global windows are intended
    return session


def _fingerprint(env: Mapping[str, str]) -> str:
    return hashlib.sha256(repr(sorted(env.items())).encode()).hexdigest()


def _ensure_gateway(conf: Mapping[str, str], env: Mapping[str, str]) -> None:
    """Make pyspark use a driver JVM whose environment holds `env` (see `build_session`)."""
    from pyspark import SparkContext

    wanted = _fingerprint(env)
    current = SparkContext._gateway
    if current is not None and getattr(current, "cofre_env", None) == wanted:
        return
    if SparkContext._active_spark_context is not None:
        raise SparkJobFailed(
            "a Spark session without the lake's S3 credentials is already running in this process; "
            "stop it first (S3A reads its keys from the driver JVM's environment, fixed at its start)"
        )
    if current is not None:
        current.shutdown()
        if getattr(current, "proc", None) is not None:
            current.proc.stdin.close()
            current.proc.wait(timeout=30)
    gateway = _launch_gateway(conf, env)
    gateway.cofre_env = wanted  # type: ignore[attr-defined]
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm


def _launch_gateway(conf: Mapping[str, str], env: Mapping[str, str]) -> JavaGateway:
    """pyspark's `launch_gateway`, with `env` added to the environment of the JVM it starts (pyspark's
    own always passes a copy of `os.environ`): `spark-submit pyspark-shell` with the session's `--conf`
    values (class path included), the connection details read back from the file the JVM writes."""
    from subprocess import PIPE, Popen

    from py4j.clientserver import ClientServer, JavaParameters, PythonParameters
    from py4j.java_gateway import java_import
    from pyspark.serializers import UTF8Deserializer, read_int

    command = [str(spark_home() / "bin" / "spark-submit")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command.append("pyspark-shell")
    info_dir = Path(tempfile.mkdtemp(prefix="cofre-gateway-"))
    info = info_dir / "conn-info"
    try:
        child_env = {
            **os.environ,
            "SPARK_HOME": str(spark_home()),
            "SPARK_CONNECT_MODE": "0",
            "_PYSPARK_DRIVER_CONN_INFO_PATH": str(info),
            **env,
        }
        proc = Popen(  # our own command line: no secret on it
            command,
            stdin=PIPE,  # the JVM exits when this pipe breaks (this process ends)
            env=child_env,
            preexec_fn=_ignore_sigint,
        )
        while proc.poll() is None and not info.is_file():
            time.sleep(0.05)
        if not info.is_file():
            raise SparkJobFailed(f"the Spark driver JVM exited ({proc.returncode}) before it started")
        with info.open("rb") as handle:
            port = read_int(handle)
            secret = UTF8Deserializer().loads(handle)
    finally:
        shutil.rmtree(info_dir, ignore_errors=True)
    gateway = ClientServer(
        java_parameters=JavaParameters(port=port, auth_token=secret, auto_convert=True),
        python_parameters=PythonParameters(port=0, eager_load=False),
    )
    gateway.proc = proc  # type: ignore[attr-defined]
    for name in (
        "org.apache.spark.SparkConf",
        "org.apache.spark.api.java.*",
        "org.apache.spark.api.python.*",
        "org.apache.spark.ml.python.*",
        "org.apache.spark.mllib.api.python.*",
        "org.apache.spark.resource.*",
        "org.apache.spark.sql.Encoders",
        "org.apache.spark.sql.OnSuccessCall",
        "org.apache.spark.sql.functions",
        "org.apache.spark.sql.classic.*",
        "org.apache.spark.sql.api.python.*",
        "org.apache.spark.sql.hive.*",
        "scala.Tuple2",
    ):
        java_import(gateway.jvm, name)
    return gateway


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


@dataclass
class SubmitResult:
    job: str
    mode: SubmitMode
    seconds: float
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


def run_job(
    spark: SparkSession, job: str, silver_uri: str, gold_uri: str, **options: object
) -> dict[str, str]:
    """Run one job's `run()` on an existing session (the embedded runner shares one session)."""
    if job not in (*GOLD_JOBS, RUN_ALL):
        raise ValueError(f"unknown gold job {job!r}; jobs are {', '.join(GOLD_JOBS)}")
    module = importlib.import_module(f"spark_jobs.{job}")
    outputs: dict[str, str] = module.run(spark, silver_uri, gold_uri, **options)
    return outputs


def submit(
    job: str,
    args: Mapping[str, object] | None,
    settings: Settings,
    vault: Vault | None,
    *,
    mode: SubmitMode = "local",
    spark: SparkSettings | None = None,
    silver_uri: str | None = None,
    gold_uri: str | None = None,
) -> SubmitResult:
    """Run gold job `job` on the lake of `settings` with options `args`.

    `local`: a session in this process (the embedded default; on an S3 lake its driver JVM gets the
    vault's key pair in its own environment). `submit`: `spark-submit spark_jobs/<job>.py` in a child
    process, the master from `spark`, the S3 key pair from the vault in the child's environment only.
    """
    if job not in (*GOLD_JOBS, RUN_ALL):
        raise ValueError(f"unknown gold job {job!r}; jobs are {', '.join(GOLD_JOBS)}")
    spark = spark or spark_settings(settings)
    default_silver, default_gold = layer_uris(settings)
    silver_uri, gold_uri = silver_uri or default_silver, gold_uri or default_gold
    options = dict(args or {})
    conf = lake_conf(settings)
    started = time.perf_counter()
    if vault is None and conf:
        raise SparkJobFailed(NEEDS_VAULT)
    if mode == "local":
        secrets = spark_env(vault, s3=True, postgres=False) if vault is not None and conf else None
        with session(spark, conf, env=secrets) as active:
            outputs = run_job(active, job, silver_uri, gold_uri, **options)
        return SubmitResult(job, mode, time.perf_counter() - started, outputs)
    env = spark_env(vault, s3=bool(conf), postgres=False) if vault is not None else {}
    with tempfile.TemporaryDirectory(prefix="cofre-spark-") as tmp:
        package = jobs_zip(Path(tmp) / "spark_jobs.zip")
        command = submit_command(job, options, spark, conf, silver_uri, gold_uri, py_files=package)
        output = _run(command, env, Path(tmp))
    lines = [redact(line) for line in output.splitlines()]
    outputs = {}
    for line in lines:
        if line.startswith("gold table "):
            table, _, uri = line.removeprefix("gold table ").partition(": ")
            outputs[table] = uri
    return SubmitResult(job, mode, time.perf_counter() - started, outputs, lines)


def submit_all(
    settings: Settings, vault: Vault | None, *, spark: SparkSettings, jobs: Sequence[str] = GOLD_JOBS
) -> dict[str, float]:
    """Every gold job in ONE spark-submit application (`spark_jobs/run_all.py`): seconds of the whole
    application (`spark_submit`: JVMs, executors, jobs) and of each job as its driver measured it."""
    result = submit(RUN_ALL, {"jobs": ",".join(jobs)}, settings, vault, mode="submit", spark=spark)
    timings = {"spark_submit": result.seconds}
    for line in result.log:
        if line.startswith("gold job ") and line.endswith(" s"):
            job, _, seconds = line.removeprefix("gold job ").removesuffix(" s").partition(": ")
            timings[job] = float(seconds)
    missing = set(jobs) - set(timings)
    if missing:
        raise SparkJobFailed(f"spark-submit reported no result for {sorted(missing)}")
    return timings


def spark_home() -> Path:
    """The Spark installation: the pyspark package itself carries bin/spark-submit and the jars."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def submit_command(
    job: str,
    options: Mapping[str, object],
    spark: SparkSettings,
    conf: Mapping[str, str],
    silver_uri: str,
    gold_uri: str,
    *,
    py_files: Path | None = None,
) -> list[str]:
    """The spark-submit command line of a job (or of `RUN_ALL`): only non-secret values (it is visible
    in `ps`)."""
    if job not in (*GOLD_JOBS, RUN_ALL):
        raise ValueError(f"unknown gold job {job!r}; jobs are {', '.join(GOLD_JOBS)}")
    from spark_jobs._common import as_options

    all_conf = {**spark.conf(), **conf}
    command = [str(spark_home() / "bin" / "spark-submit"), "--master", all_conf.pop("spark.master")]
    for key, value in sorted(all_conf.items()):
        command += ["--conf", f"{key}={value}"]
    if py_files is not None:
        command += ["--py-files", str(py_files)]
    command += [str(JOBS_DIR / f"{job}.py"), "--silver", silver_uri, "--gold", gold_uri]
    return command + as_options(dict(options))


def _run(command: list[str], secrets_env: Mapping[str, str], cwd: Path) -> str:
    """Run spark-submit with the secrets in its environment only; raise with the redacted tail."""
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": LOCAL_IP,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).strip(os.pathsep),
        **secrets_env,
    }
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=cwd)
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        tail = "\n".join(redact(output).splitlines()[-30:])
        raise SparkJobFailed(f"spark-submit {command[-1]} failed ({completed.returncode}):\n{tail}")
    return output


def jobs_zip(path: Path) -> Path:
    """spark_jobs/ as a zip for `--py-files`: executors import the job package from it."""
    with zipfile.ZipFile(path, "w") as archive:
        for source in sorted(JOBS_DIR.glob("*.py")):
            archive.write(source, f"spark_jobs/{source.name}")
    return path


def run_gold(
    settings: Settings,
    *,
    spark: SparkSettings | None = None,
    jobs: Sequence[str] = GOLD_JOBS,
    silver_uri: str | None = None,
    gold_uri: str | None = None,
    vault: Vault | None = None,
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
    return timings


def java_available() -> bool:
    return shutil.which("java") is not None
