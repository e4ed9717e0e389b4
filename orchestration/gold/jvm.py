"""The Spark driver JVM and the environment of every Spark child process.

pyspark launches its JVM with a copy of this process's whole environment; cofre launches it itself
(`ensure_gateway`), with an allow-listed environment (`spark_child_environment`, security.child_env):
the Spark settings it needs and, with an S3 lake, the vault's key pair for S3A's environment credential
provider, in that JVM's environment only: never in this process's `os.environ`, on a command line or in
another child. spark-submit children (submit.py) get the same environment.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from security.child_env import child_environment

if TYPE_CHECKING:
    from py4j.java_gateway import JavaGateway

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_IP = "127.0.0.1"


class SparkJobFailed(RuntimeError):
    """A gold job failed; the message carries the (redacted) end of its output."""


def spark_child_environment(secrets: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a Spark child (the driver JVM, spark-submit): allow-listed from this process's,
    with Spark's settings (bound to loopback, this Python for the workers, the repository importable)
    and only the `secrets` given (the lake's key pair)."""
    python_path = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).strip(os.pathsep)
    return child_environment(
        "spark",
        settings={
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", LOCAL_IP),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PYTHONPATH": python_path,
        },
        secrets=secrets,
    )


def spark_home() -> Path:
    """The Spark installation: the pyspark package itself carries bin/spark-submit and the jars."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _fingerprint(env: Mapping[str, str]) -> str:
    return hashlib.sha256(repr(sorted(env.items())).encode()).hexdigest()


def ensure_gateway(conf: Mapping[str, str], env: Mapping[str, str], log_file: Path | None = None) -> None:
    """Make pyspark use a driver JVM whose environment holds `env` (see `build_session`)."""
    from pyspark import SparkContext

    wanted = _fingerprint(env)
    current = SparkContext._gateway
    if current is not None and (not env or getattr(current, "cofre_env", None) == wanted):
        return  # a local lake needs no secret: any running driver JVM serves it
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
    gateway = _launch_gateway(conf, env, log_file)
    gateway.cofre_env = wanted  # type: ignore[attr-defined]
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm


def _launch_gateway(conf: Mapping[str, str], env: Mapping[str, str], log_file: Path | None) -> JavaGateway:
    """pyspark's `launch_gateway`, with an allow-listed environment plus `env` for the JVM it starts
    (pyspark's own always passes a copy of `os.environ`): `spark-submit pyspark-shell` with the
    session's `--conf` values (class path included), the connection details read back from the file the
    JVM writes."""
    from subprocess import PIPE, STDOUT, Popen

    from py4j.clientserver import ClientServer, JavaParameters, PythonParameters
    from py4j.java_gateway import java_import
    from pyspark.serializers import UTF8Deserializer, read_int

    command = [str(spark_home() / "bin" / "spark-submit")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command.append("pyspark-shell")
    info_dir = Path(tempfile.mkdtemp(prefix="cofre-gateway-"))
    info = info_dir / "conn-info"
    # The JVM's own output (log4j warnings, NativeCodeLoader) goes to the log file, not over the progress
    # bars; without a log file it goes where this process's output goes.
    output = log_file.open("ab") if log_file is not None else None
    try:
        child_env = {
            **spark_child_environment(env),
            "SPARK_CONNECT_MODE": "0",
            "_PYSPARK_DRIVER_CONN_INFO_PATH": str(info),
        }
        proc = Popen(  # our own command line: no secret on it
            command,
            stdin=PIPE,  # the JVM exits when this pipe breaks (this process ends)
            stdout=output,
            stderr=STDOUT if output is not None else None,
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
        if output is not None:
            output.close()  # the JVM holds its own descriptor
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
