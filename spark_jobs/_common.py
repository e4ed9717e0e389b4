"""What every gold job shares: reading masked silver, writing gold atomically, the command line.

A job reads silver tables from `<silver_uri>/<table>/` (Parquet) and writes each gold table to
`<gold_uri>/<table>/`. Writes go to a staging folder first and replace the published folder by rename
through Hadoop's FileSystem API (the same code for file:// and s3a://), so a reader sees the previous
complete table or the new complete one, never a half-written partition.

Only the standard library and pyspark are imported here: the module is shipped to executors and run
by spark-submit on a cluster where the rest of cofre is not installed.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.contract import LAKE_TABLES

PII_COLUMNS = frozenset(
    {
        "customer_id",
        "customer_unique_id",
        "customer_zip_code_prefix",
        "customer_city",
        "seller_zip_code_prefix",
        "geolocation_lat",
        "geolocation_lng",
        "review_comment_title",
        "review_comment_message",
    }
)
"""Columns that would carry personal data; no gold output may have one (checked before every write)."""

UNKNOWN = "unknown"
STAGING_DIR = "_staging"
TRASH_DIR = "_trash"


class GoldOutputError(ValueError):
    """A gold table would be written with a personal-data column or an unknown partition column."""


SHARED_SILVER = ("orders", "order_items", "customers", "products", "product_categories", "sellers")
"""Silver tables that two or more gold jobs read: `share_silver` caches them for a run of several jobs."""
_shared: dict[tuple[int, str, str], DataFrame] = {}


def read_silver(spark: SparkSession, silver_uri: str, table: str) -> DataFrame:
    """One masked silver table from the lake (the cached one while `share_silver` holds it)."""
    if table not in LAKE_TABLES:
        raise ValueError(f"{table!r} is not a silver table; silver tables are {', '.join(LAKE_TABLES)}")
    uri = f"{silver_uri.rstrip('/')}/{table}"
    shared = _shared.get((id(spark), silver_uri.rstrip("/"), table))
    return shared if shared is not None else spark.read.parquet(uri)


@contextmanager
def share_silver(
    spark: SparkSession, silver_uri: str, tables: Sequence[str] = SHARED_SILVER
) -> Iterator[None]:
    """Within the block, jobs on this session read `tables` from one in-memory cache: each is read from
    the lake and decoded once (by the first job that uses it), not once per job. Released afterwards."""
    base = silver_uri.rstrip("/")
    keys = [(id(spark), base, table) for table in tables]
    for key in keys:
        _shared[key] = spark.read.parquet(f"{base}/{key[2]}").cache()
    try:
        yield
    finally:
        for key in keys:
            df = _shared.pop(key, None)
            if df is not None:
                df.unpersist()


def day(column: str) -> Column:
    """The calendar day of a timestamp column (session time zone UTC, as the warehouse stores it)."""
    return F.to_date(F.col(column))


def month_start(column: str) -> Column:
    return F.trunc(F.col(column), "month")


def money(column: Column, scale: int = 2, precision: int = 18) -> Column:
    """Round to cents and fix the decimal type, so sums are exact and reconcile to the warehouse."""
    return F.round(column, scale).cast(f"decimal({precision},{scale})")


def write_gold(
    df: DataFrame,
    gold_uri: str,
    table: str,
    *,
    order_by: Sequence[str],
    partition_by: Sequence[str] = (),
) -> str:
    """Write `df` as `<gold_uri>/<table>/` atomically and deterministically; return its URI.

    Each partition value (or the whole table, when unpartitioned) is one file sorted by `order_by`, so
    the same input gives the same rows in the same files. The table is first written under `_staging/`
    and then swapped in by renames: the old folder moves to `_trash/`, the new one takes its place, and
    the old one is deleted.
    """
    bad = PII_COLUMNS & {c.lower() for c in df.columns}
    if bad:
        raise GoldOutputError(f"gold table {table} would carry personal data columns: {sorted(bad)}")
    missing = [c for c in (*order_by, *partition_by) if c not in df.columns]
    if missing:
        raise GoldOutputError(f"gold table {table} has no column(s) {missing}")

    base = gold_uri.rstrip("/")
    run = uuid.uuid4().hex[:12]
    staging = f"{base}/{STAGING_DIR}/{table}-{run}"
    target = f"{base}/{table}"
    trash = f"{base}/{TRASH_DIR}/{table}-{run}"

    # one file per partition value (a shuffle by the partition columns); an unpartitioned table is one
    # file: coalesce(1) adds no shuffle (gold tables are small aggregates, their last stage is tiny)
    laid_out = df.repartition(*[F.col(c) for c in partition_by]) if partition_by else df.coalesce(1)
    writer = laid_out.sortWithinPartitions(*partition_by, *order_by).write.mode("error")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.parquet(staging)
    _swap(df.sparkSession, staging, target, trash)
    return target


def _swap(spark: SparkSession, staging: str, target: str, trash: str) -> None:
    """Replace `target` by `staging` with renames (Hadoop FileSystem: local, HDFS, s3a alike)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    path = jvm.org.apache.hadoop.fs.Path
    fs = path(target).getFileSystem(hadoop_conf)
    target_path, staging_path, trash_path = path(target), path(staging), path(trash)
    had_old = fs.exists(target_path)
    if had_old:
        fs.mkdirs(trash_path.getParent())
        if not fs.rename(target_path, trash_path):
            raise OSError(f"could not move the previous {target} aside")
    if not fs.rename(staging_path, target_path):
        if had_old:
            fs.rename(trash_path, target_path)
        raise OSError(f"could not publish {staging} as {target}")
    if had_old:
        fs.delete(trash_path, True)
    for leftover in (staging_path.getParent(), trash_path.getParent()):
        if fs.exists(leftover) and len(fs.listStatus(leftover)) == 0:
            fs.delete(leftover, False)


Job = Callable[..., dict[str, str]]


def main(
    job: Job, description: str, add_options: Callable[[argparse.ArgumentParser], None] | None = None
) -> None:
    """The spark-submit entry point of a job: `--silver URI --gold URI [options]`.

    The Spark configuration (master, shuffle partitions, s3a) comes from spark-submit's `--conf`
    values, built by orchestration/gold/spark.py; the job itself only names its inputs and outputs.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--silver", required=True, help="URI of the silver layer (file:///…, s3a://…)")
    parser.add_argument("--gold", required=True, help="URI of the gold layer")
    if add_options is not None:
        add_options(parser)
    args = vars(parser.parse_args())
    silver, gold = args.pop("silver"), args.pop("gold")
    name = job.__module__.rsplit(".", 1)[-1]
    if name == "__main__":  # run as spark-submit's script: name the application after the file
        name = sys.argv[0].rsplit("/", 1)[-1].removesuffix(".py")
    spark = SparkSession.builder.appName(f"cofre-{name}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        outputs = job(spark, silver, gold, **{k: v for k, v in args.items() if v is not None})
        for table, uri in sorted(outputs.items()):
            print(f"gold table {table}: {uri}")
    finally:
        spark.stop()


def as_options(values: dict[str, Any]) -> list[str]:
    """`{"base_month": "2018-08-01"}` -> `["--base-month", "2018-08-01"]` (the inverse of `main`)."""
    args: list[str] = []
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args
