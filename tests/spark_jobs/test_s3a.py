"""Spark on S3A, end to end: `cofre run --lake s3://…` against the S3-API server of the tests (moto), with
the S3A jars `make install` fetched. Silver is exported to the bucket, every gold job reads it and writes
gold over s3a:// and load_gold reads gold back from the bucket: no local working copy of either layer
exists. The lake's keys reach only the Spark driver JVM, through its environment: no child's command line,
no other child's environment, no file and no output line holds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import duckdb
import pytest

from orchestration.gold.silver_export import EXPORT_MANIFEST
from orchestration.settings import Settings
from spark_jobs.contract import LAKE_TABLES
from tests.fakes.s3_server import REGION, S3Server, s3_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

GOLD = {"sales_daily", "seller_scorecard", "customer_cohorts", "customer_rfm", "delivery_routes"}
GOLD |= {"category_cooccurrence"}


@dataclass
class Seen:
    """What a watcher saw of every descendant process of the run."""

    argv: dict[int, str] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    with_key_in_env: set[int] = field(default_factory=set)

    def tree(self, root: int) -> set[int]:
        """`root` and every process seen below it."""
        found, pending = {root}, [root]
        while pending:
            pid = pending.pop()
            children = {c for c, p in self.parent.items() if p == pid} - found
            found |= children
            pending.extend(children)
        return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _watch(root: int, secrets: list[bytes], seen: Seen, stop: threading.Event) -> None:
    while not stop.is_set():
        pending, tree = [root], []
        while pending:
            pid = pending.pop()
            tree.append(pid)
            for child in _children(pid):
                seen.parent[child] = pid
                pending.append(child)
        for pid in tree[1:]:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes()
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            seen.argv[pid] = argv.replace(b"\0", b" ").decode(errors="replace")
            if any(s in environ for s in secrets):
                seen.with_key_in_env.add(pid)
            if any(s in argv for s in secrets):
                seen.argv[pid] += " <SECRET IN ARGV>"
        time.sleep(0.1)


def test_gold_runs_over_s3a_with_no_local_copy_and_keys_only_in_the_jvm_env(
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "AWS_"))}
    env.update(
        COFRE_HOME=str(state),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        COLUMNS="200",
        COFRE_S3_ENDPOINT_URL=s3_server.endpoint_url,
        COFRE_S3_REGION=REGION,
        SPARK_LOCAL_IP="127.0.0.1",
    )

    def cofre(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "orchestration", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)

    assert cofre("vault", "init").returncode == 0
    keys = {name: cofre("vault", "get", name).stdout for name in ("lake_access_key", "lake_secret_key")}
    access, secret = keys["lake_access_key"], keys["lake_secret_key"]
    assert access and secret
    bucket = s3_server.create_bucket(access, secret)

    run = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "run", "--scale", "0.01", "--lake", f"s3://{bucket}/lake"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen, stop = Seen(), threading.Event()
    watcher = threading.Thread(target=_watch, args=(run.pid, [access.encode(), secret.encode()], seen, stop))
    watcher.start()
    try:
        out, err = run.communicate(timeout=900)
    finally:
        stop.set()
        watcher.join()
    assert run.returncode == 0, out[-4000:] + err[-4000:]

    # Spark ran over s3a:// (the in-process driver JVM), and nothing of the lake landed on local disk.
    assert not (state / "spark").exists() and not (state / "lake").exists()
    local = [p for p in state.rglob("*.parquet") if "dlt" not in p.relative_to(state).parts]
    assert not local, f"a local copy of a lake layer: {local}"  # (dlt's own load packages aside)
    jvms = {pid for pid, argv in seen.argv.items() if "java" in argv.split(" ", 1)[0]}
    assert any("org.apache.spark.deploy.SparkSubmit" in seen.argv[p] for p in jvms), seen.argv
    spark_jvm_argv = " ".join(seen.argv[p] for p in jvms)
    assert (
        "hadoop-aws-3.5.0.jar" in spark_jvm_argv
        and "EnvironmentVariableCredentialsProvider" in spark_jvm_argv
    )

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="lake/")
    names = [o["Key"] for page in pages for o in page.get("Contents", [])]
    for table in LAKE_TABLES:
        assert f"lake/silver/{table}/part-0.parquet" in names, table
    assert f"lake/silver/{EXPORT_MANIFEST}" in names
    gold = [n for n in names if n.startswith("lake/gold/")]
    for table in GOLD:  # written by Spark itself: its part files and _SUCCESS marker
        assert f"lake/gold/{table}/_SUCCESS" in gold, table
        assert any(n.startswith(f"lake/gold/{table}/") and "/part-00000-" in n for n in gold), table
    assert any("/sales_daily/sale_month=" in n for n in gold)
    assert not any("/_staging/" in n or "/_trash/" in n for n in gold)

    # load_gold read gold from the bucket and loaded it; the marts build reconciled it with silver to the
    # cent (its dbt test assert_gold_reconciles_to_silver passed; a failure fails the run).
    con = duckdb.connect(str(Settings(home=state).warehouse_path), read_only=True)
    try:
        for table in GOLD:
            counted = con.execute(f"select count(*) from gold.{table}").fetchone()
            assert counted is not None and counted[0] > 0, table
    finally:
        con.close()
    results = json.loads((state / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    statuses = {r["unique_id"].split(".")[2]: r["status"] for r in results["results"]}
    assert statuses["assert_gold_reconciles_to_silver"] == "pass"

    # The keys: never on a command line; in an environment only of the Spark driver (the spark-submit
    # child cofre launched, which becomes the JVM, and what that JVM itself runs), not of this run's other
    # children (dbt, …), which would have them if cofre had put them in its os.environ.
    assert seen.argv and not any("<SECRET IN ARGV>" in argv for argv in seen.argv.values()), seen.argv
    (driver,) = [
        p for p, parent in seen.parent.items() if parent == run.pid and "pyspark-shell" in seen.argv[p]
    ]
    assert seen.with_key_in_env & jvms, "the Spark JVM got its keys from its environment"
    outside = seen.with_key_in_env - seen.tree(driver)
    assert not outside, {p: seen.argv[p] for p in outside}
    assert any("dbt" in argv for argv in seen.argv.values())  # children that must not have them were seen
    assert secret not in out + err
    for path in state.rglob("*"):
        if path.is_file() and path.parent.name != "vault":
            assert secret.encode() not in path.read_bytes(), path
