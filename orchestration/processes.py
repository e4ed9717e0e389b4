"""Is the process that wrote a record, or left a file, still alive? (Linux /proc, else kill(pid, 0).)

A pid alone can be reused by a later process; the kernel's start time of the process (field 22 of
/proc/PID/stat, in clock ticks since boot) tells the original from a newcomer.
"""

from __future__ import annotations

import os
from pathlib import Path


def start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None if that cannot be known."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return int(fields[19])


def is_alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` runs (a zombie does not), and is the process that started at `started` if given."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return False
    return started is None or int(fields[19]) == started


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` of a child cofre starts (dbt, spark-submit): the kernel sends it SIGTERM when cofre
    dies, even by kill -9, so no orphan keeps the DuckDB file or the lake busy for the next run (Linux
    prctl(PR_SET_PDEATHSIG); elsewhere a no-op)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
