"""Benchmark the Olist generator and the Olist ingestion (CSV -> bronze Parquet -> raw DuckDB).

Each phase runs in its own child process, so its wall time and peak RSS are its own (read with wait4).
Usage:  .venv/bin/python benchmarks/ingestion.py [--scales 0.1 1] [--keep DIR]
Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = """
import sys
from pathlib import Path
from ingestion.olist_generator import generate_olist
rows = generate_olist(Path(sys.argv[1]), scale=float(sys.argv[2]), seed=42)
print(sum(rows.values()))
"""

INGEST = """
import sys, os
from pathlib import Path
from dataclasses import asdict
import dlt
from ingestion.lake import Lake
from ingestion.olist_source import ReadStats, olist_source
from ingestion.pipeline import ingest
home = Path(sys.argv[2])
stats = ReadStats()
report = ingest(olist_source(Path(sys.argv[1]), stats), lake=Lake(home / "lake"),
                raw_destination=dlt.destinations.duckdb(str(home / "w.duckdb")), raw_dataset="raw_olist",
                pipelines_dir=home / "dlt", inputs=lambda: [asdict(f) for f in stats.files.values()])
print(sum(report.raw_rows.values()))
"""


def measure(code: str, *args: str, work: Path) -> tuple[float, int, float]:
    """Run `code` in a child Python; return (seconds, rows it printed, peak RSS in MiB)."""
    env = {
        **os.environ,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
        "AIRFLOW_HOME": str(work / "airflow"),
    }
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    output = child.stdout.read() if child.stdout else ""
    if status != 0:
        raise SystemExit(f"benchmark phase failed with status {status}: {args}")
    return seconds, int(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[0.1, 1.0])
    parser.add_argument("--keep", type=Path, help="work here instead of a temporary folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cofre-bench-") as scratch:
        run(options.scales, options.keep or Path(scratch))


def run(scales: list[float], work: Path) -> None:
    print(
        f"machine: {platform.node()} | {os.cpu_count()} cores | {platform.platform()} | "
        f"Python {platform.python_version()}"
    )
    print("| phase | scale | rows | wall s | rows/s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for scale in scales:
        folder = work / f"olist_sf{scale:g}"
        seconds, rows, rss = measure(GENERATE, str(folder), str(scale), work=work)
        print(f"| generate | {scale:g} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {rss:,.0f} |")
        seconds, rows, rss = measure(INGEST, str(folder), str(work / f"home_sf{scale:g}"), work=work)
        print(
            f"| ingest (CSV -> bronze -> raw DuckDB) | {scale:g} | {rows:,} | {seconds:.1f} | "
            f"{rows / seconds:,.0f} | {rss:,.0f} |"
        )


if __name__ == "__main__":
    main()
