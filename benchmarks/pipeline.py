"""Benchmark the whole pipeline, step by step, on the embedded default (DuckDB + local lake).

Runs `cofre run --scale S` in a fresh state directory per scale, then reads the run record, which holds each
step's wall time. Usage:  .venv/bin/python benchmarks/pipeline.py [--scales 0.1 1]
Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cofre_run(scale: float, home: Path, airflow_home: Path) -> float:
    """Seconds of one `cofre run --scale S` in the state directory `home` (no COFRE_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
    env.update(COFRE_HOME=str(home), AIRFLOW_HOME=str(airflow_home))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "orchestration", "run", "--scale", str(scale)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run_pipeline(scale: float, work: Path) -> tuple[float, dict]:
    home = work / f"home_sf{scale:g}"
    seconds = cofre_run(scale, home, work / "airflow")
    (record,) = (home / "runs").glob("*.json")
    return seconds, json.loads(record.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[0.1, 1.0])
    options = parser.parse_args()
    print(
        f"machine: {platform.node()} | {os.cpu_count()} cores | {platform.platform()} | "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="cofre-bench-") as scratch:
        results = {scale: run_pipeline(scale, Path(scratch)) for scale in options.scales}
    steps = [s["name"] for s in next(iter(results.values()))[1]["steps"]]
    print("| step | " + " | ".join(f"scale {s:g} (s)" for s in results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in steps:
        cells = [
            next(f"{s['seconds']:.1f}" for s in record["steps"] if s["name"] == name)
            for _, record in results.values()
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        "| whole `cofre run` (process wall time) | "
        + " | ".join(f"{t:.1f}" for t, _ in results.values())
        + " |"
    )


if __name__ == "__main__":
    main()
