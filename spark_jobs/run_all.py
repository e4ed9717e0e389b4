"""Every gold job in one Spark application: one driver, executors acquired once, silver read once per job
on the same session. The gold step sends this to a cluster master (spark-submit) instead of one
application per job, which would pay a driver JVM and the executors' start-up five times.

    spark-submit --py-files spark_jobs.zip spark_jobs/run_all.py --silver URI --gold URI [--jobs a,b]

Prints `gold job <name>: <seconds> s` after each job and `gold table <name>: <uri>` at the end.
"""

from __future__ import annotations

import argparse
import importlib
import time

from pyspark.sql import SparkSession

from spark_jobs._common import main, share_silver
from spark_jobs.contract import GOLD_JOBS as JOBS


def run(spark: SparkSession, silver_uri: str, gold_uri: str, jobs: str = ",".join(JOBS)) -> dict[str, str]:
    outputs: dict[str, str] = {}
    selected = [j.strip() for j in jobs.split(",") if j.strip()]
    unknown = set(selected) - set(JOBS)
    if unknown:
        raise ValueError(f"unknown gold job(s) {sorted(unknown)}; jobs are {', '.join(JOBS)}")
    with share_silver(spark, silver_uri):
        for job in selected:
            started = time.perf_counter()
            outputs.update(importlib.import_module(f"spark_jobs.{job}").run(spark, silver_uri, gold_uri))
            print(f"gold job {job}: {time.perf_counter() - started:.3f} s", flush=True)
    return outputs


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", dest="jobs", help=f"comma-separated (default: all, {','.join(JOBS)})")


if __name__ == "__main__":
    main(run, __doc__ or "run_all", _options)
