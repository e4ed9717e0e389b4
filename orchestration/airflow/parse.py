"""DAG-file parse time, measured as Airflow's DAG processor pays it (`cofre airflow parse-time`)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path


def measure_parse(path: Path) -> tuple[float, int]:
    """Seconds to execute a DAG file and its task count. Parse time is what the DAG processor pays for
    every file on every loop, so it is kept well under a second (callers warm the one-off imports first:
    see `parse_times`)."""

    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location(f"_cofre_dag_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seconds = time.perf_counter() - started
    return seconds, len(module.dag.tasks)


STEADY_PARSES = 3


def parse_times(path: Path) -> tuple[float, float, int]:
    """(first, steady, tasks): the first parse in this process pays one-off costs (importing Cosmos,
    Airflow loading its plugins on the first object-storage path); the steady one is what each later
    parse costs, as in a long-running DAG processor: the median of a few parses, so one parse slowed
    by another process on a shared machine does not stand for the DAG file's cost."""
    first, tasks = measure_parse(path)
    steady = sorted(measure_parse(path)[0] for _ in range(STEADY_PARSES))[STEADY_PARSES // 2]
    return first, steady, tasks
