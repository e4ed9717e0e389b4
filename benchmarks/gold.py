"""Benchmark the gold step alone: the five Spark jobs on the silver of a built state directory.

    .venv/bin/python benchmarks/gold.py --home /tmp/x [--scale 1] [--explain]

`--home` is a state directory built by `cofre run --scale S --home DIR` (its lake holds silver). The jobs
run exactly as the `gold` step runs them (`run_gold`: one in-process session, the settings of that scale),
in a fresh process (so Spark start-up is measured cold), writing gold to a scratch folder. Prints the
seconds of Spark start-up and of each job, the number of Spark stages and tasks each job ran, and, with
`--explain`, each job's physical plans.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--explain", action="store_true")
    options = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    from orchestration.gold import spark as gold_spark
    from orchestration.settings import Settings

    settings = Settings(home=options.home, scale=options.scale)
    stats: dict[str, dict[str, Any]] = {}
    original = gold_spark.run_job

    def measured(spark: Any, job: str, silver: str, gold: str, **kw: Any) -> dict[str, str]:
        tracker = spark.sparkContext.statusTracker()
        before = set(tracker.getJobIdsForGroup(None))
        if options.explain:
            spark.conf.set("spark.sql.ui.explainMode", "formatted")
        outputs = original(spark, job, silver, gold, **kw)
        jobs = sorted(set(tracker.getJobIdsForGroup(None)) - before)
        stages = [s for j in jobs if (info := tracker.getJobInfo(j)) for s in info.stageIds]
        tasks = sum(i.numTasks for s in stages if (i := tracker.getStageInfo(s)) is not None)
        stats[job] = {"spark_jobs": len(jobs), "stages": len(stages), "tasks": tasks}
        return outputs

    gold_spark.run_job = measured  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="cofre-gold-bench-") as scratch:
        started = time.perf_counter()
        timings = gold_spark.run_gold(settings, gold_uri=Path(scratch).as_uri())
        total = time.perf_counter() - started
    print(
        f"machine: {platform.node()} | {os.cpu_count()} cores | load {os.getloadavg()[0]:.1f} | "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print("| part | s | Spark jobs | stages | tasks |\n|---|---:|---:|---:|---:|")
    for name, seconds in timings.items():
        s = stats.get(name, {})
        counts = " | ".join(str(s.get(k, "")) for k in ("spark_jobs", "stages", "tasks"))
        print(f"| {name} | {seconds:.1f} | {counts} |")
    print(f"| total (run_gold) | {total:.1f} | | | |")
    print(json.dumps({"timings": timings, "stats": stats}))


if __name__ == "__main__":
    main()
