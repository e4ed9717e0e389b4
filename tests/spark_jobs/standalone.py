"""A real Spark standalone cluster for tests: a master and workers as separate processes, started with the
`spark-class` launcher of the installed pyspark on loopback, each in its own process group so a test can
kill -9 a worker (and the executors it runs) like a lost machine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.gold.spark import spark_home

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    url: str
    ui: str
    master: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=5) as response:  # noqa: S310 (loopback)
            data: dict[str, Any] = json.load(response)
        return data

    def alive_workers(self) -> list[dict[str, Any]]:
        return [w for w in self.state()["workers"] if w["state"] == "ALIVE"]

    def kill_worker(self, index: int) -> None:
        """kill -9 a worker and everything it started (its executors): the machine is gone."""
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait(timeout=30)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the standalone cluster did not come up: {what}")


@contextmanager
def standalone_cluster(
    work: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g"
) -> Iterator[Cluster]:
    """`spark-class ...deploy.master.Master` and `workers` x `...deploy.worker.Worker`, on loopback."""
    spark_class = str(spark_home() / "bin" / "spark-class")
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOG_DIR": str(work / "logs"),
        "SPARK_WORKER_DIR": str(work / "worker"),
        "SPARK_DAEMON_MEMORY": "256m",
    }
    port, ui_port = free_port(), free_port()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("wb")
        return subprocess.Popen(
            [spark_class, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    master = start(
        "master", "org.apache.spark.deploy.master.Master",
        "--host", HOST, "--port", str(port), "--webui-port", str(ui_port),
    )  # fmt: skip
    cluster = Cluster(f"spark://{HOST}:{port}", f"http://{HOST}:{ui_port}", master)
    try:
        _wait(lambda: cluster.state()["status"] == "ALIVE", 90, "master")
        for index in range(workers):
            cluster.workers.append(
                start(
                    f"worker-{index}",
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    HOST,
                    "--cores",
                    str(cores),
                    "--memory",
                    memory,
                    "--webui-port",
                    str(free_port()),
                    "--work-dir",
                    str(work / f"worker-{index}"),
                    cluster.url,
                )
            )
        _wait(lambda: len(cluster.alive_workers()) == workers, 120, f"{workers} workers")
        yield cluster
    finally:
        for process in [*cluster.workers, master]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*cluster.workers, master]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
