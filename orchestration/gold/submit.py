"""Gold jobs through spark-submit: one job (`submit`) or every job in one application (`submit_all`), the
way a cluster master is sent them. The child's environment is allow-listed (jvm.spark_child_environment)
and alone carries the vault's S3 key pair; nothing secret is on its command line."""

from __future__ import annotations

import subprocess
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from orchestration.gold.jvm import SparkJobFailed, spark_child_environment, spark_home
from orchestration.gold.spark import (
    JOBS_DIR,
    NEEDS_VAULT,
    RUN_ALL,
    SparkSettings,
    lake_conf,
    layer_uris,
    run_job,
    session,
    spark_settings,
)
from orchestration.processes import die_with_parent
from security.credentials import spark_env
from security.redaction import redact
from spark_jobs._common import as_options
from spark_jobs.contract import GOLD_JOBS

if TYPE_CHECKING:
    from orchestration.settings import Settings
    from security.vault import Vault

SubmitMode = Literal["local", "submit"]


@dataclass
class SubmitResult:
    job: str
    mode: SubmitMode
    seconds: float
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


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
    with tempfile.TemporaryDirectory(prefix="cofre-spark-", dir=spark.local_dir) as tmp:
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
    completed = subprocess.run(
        command,
        env=spark_child_environment(secrets_env),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        preexec_fn=die_with_parent,
    )
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
