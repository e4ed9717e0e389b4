"""Benchmark the dashboard's time to first render of the overview page, on a state directory built at a scale.

Builds the state with `cofre run --scale S` in a temporary directory (or reuses `--home DIR`), then:
1. cold: starts `streamlit run` exactly as `cofre dashboard` does, and times (a) until /_stcore/health
   answers and (b) until a headless Chromium shows the overview's six KPI values (server start, imports,
   the first queries on an empty cache and the browser's rendering included);
2. warm: a new browser session on the same server (results cached; script run and rendering only);
3. AppTest: the overview's first script run in-process with an empty cache (no browser, no server).
Usage:  .venv/bin/python benchmarks/dashboard.py [--scale 1] [--home DIR] [--repeat 3]
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
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the browser helper lives with the dashboard's tests

from benchmarks.pipeline import cofre_run  # noqa: E402
from orchestration.cli.commands.dashboard import streamlit_command, streamlit_environment  # noqa: E402
from orchestration.settings import Settings  # noqa: E402
from tests.dashboard.browser import chromium, free_port  # noqa: E402

KPIS_SHOWN = "return document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= 6"


def until(condition: Callable[[], bool], timeout_s: float = 300.0, step_s: float = 0.05) -> float:
    """Seconds until `condition()` holds, polling every `step_s`."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"not reached within {timeout_s:.0f} s")
        time.sleep(step_s)
    return time.perf_counter() - started


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310 (localhost)
            return bool(response.status == 200)
    except OSError:
        return False


def browser_timings(home: Path) -> tuple[float, float, float]:
    """(health, cold first render, warm render) in seconds, on a freshly started server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        streamlit_command(port),
        env=streamlit_environment(Settings(home=home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(lambda: healthy(url))
        health = time.perf_counter() - started
        with chromium() as browser:  # the browser's own start is not part of the app's time
            paused = time.perf_counter()
            browser.open(url + "/")
            until(lambda: bool(browser.script(KPIS_SHOWN)))
            cold = health + (time.perf_counter() - paused)
        with chromium() as browser:
            warm_started = time.perf_counter()
            browser.open(url + "/")
            until(lambda: bool(browser.script(KPIS_SHOWN)))
            warm = time.perf_counter() - warm_started
        return health, cold, warm
    finally:
        server.terminate()
        server.wait(timeout=30)


def apptest_first_run(home: Path) -> float:
    """The overview's first run in-process, in a fresh interpreter (empty cache, modules not imported)."""
    code = (
        "import time\nfrom streamlit.testing.v1 import AppTest\nfrom dashboard.navigation import APP_SCRIPT\n"
        "t = time.perf_counter()\nat = AppTest.from_file(str(APP_SCRIPT), default_timeout=300).run()\n"
        "assert len(at.metric) == 6 and not at.exception\nprint(time.perf_counter() - t)\n"
    )
    env = {**streamlit_environment(Settings(home=home))}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=REPO
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--home", type=Path, help="Reuse this state directory instead of building one.")
    parser.add_argument("--repeat", type=int, default=3, help="Server starts (and AppTest runs) to time.")
    options = parser.parse_args()
    print(
        f"machine: {platform.node()} | {os.cpu_count()} cores | {platform.platform()} | "
        f"Python {platform.python_version()} | load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="cofre-bench-dashboard-") as scratch:
        home = options.home or Path(scratch) / f"home_sf{options.scale:g}"
        if options.home is None:
            seconds = cofre_run(options.scale, home, home / "airflow")
            print(f"state built by `cofre run --scale {options.scale:g}` in {seconds:.0f} s")
        runs = [browser_timings(home) for _ in range(options.repeat)]
        tests = [apptest_first_run(home) for _ in range(options.repeat)]
    print("| measure | " + " | ".join(f"run {i + 1} (s)" for i in range(options.repeat)) + " |")
    print("|---|" + "---:|" * options.repeat)
    rows = {
        "server start → /_stcore/health": [r[0] for r in runs],
        "server start → overview KPIs shown in Chromium (cold)": [r[1] for r in runs],
        "new browser session → overview KPIs shown (warm cache)": [r[2] for r in runs],
        "AppTest first run of the overview (fresh interpreter)": tests,
    }
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |")


if __name__ == "__main__":
    main()
