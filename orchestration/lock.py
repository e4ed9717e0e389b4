"""The state directory's lock: one writer at a time (a run, a key rotation, a lifecycle move, a publish).

An exclusive `fcntl.flock` on `<home>/cofre.lock`, held for the whole operation. The kernel releases it
when the holder's process ends, however it ends (kill -9 included), so a lock is never left stale. The
file says who holds it (pid, run id, started at, what it does) for the message a second process shows;
the file itself is never deleted (removing a lock file while someone waits on it would let two in).

The lock is re-entrant within one process: a run holds it, and the publish step it runs takes it again
without blocking on itself (a step run by Airflow, outside any `cofre run`, takes it on its own).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestration.errors import UserError

LOCK_FILE = "cofre.lock"

_held: dict[Path, int] = {}
"""Locks this process holds: path -> depth of nesting."""


@dataclass(frozen=True)
class LockHolder:
    pid: int
    purpose: str
    run_id: str | None
    started_at: str

    def describe(self) -> str:
        run = f", run {self.run_id}" if self.run_id else ""
        return f"pid {self.pid} ({self.purpose}{run}, started at {self.started_at})"


class StateLocked(UserError):
    """Another process holds the state directory's lock."""

    def __init__(self, home: Path, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "another process (it has not said who yet)"
        super().__init__(
            f"the state directory {home} is in use by {who}; wait for it to finish, "
            "or add --wait to start when it does"
        )
        self.holder = holder


def lock_path(home: Path) -> Path:
    return home / LOCK_FILE


def read_holder(home: Path) -> LockHolder | None:
    """Who holds (or last held) the lock, as the lock file says; None if it says nothing readable."""
    try:
        data = json.loads(lock_path(home).read_text(encoding="utf-8"))
        return LockHolder(
            pid=int(data["pid"]),
            purpose=str(data["purpose"]),
            run_id=data.get("run_id"),
            started_at=str(data["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def state_lock(
    home: Path,
    purpose: str,
    *,
    run_id: str | None = None,
    wait: bool = False,
    on_wait: Callable[[LockHolder | None], None] | None = None,
) -> Iterator[None]:
    """Hold the exclusive lock of the state directory `home` for the block.

    Taken already by this process: re-entered. Held by another: raise StateLocked naming the holder at
    once, or with `wait`, call `on_wait(holder)` and block until it is free.
    """
    path = lock_path(home).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, home, wait=wait, on_wait=on_wait)
        holder = LockHolder(
            pid=os.getpid(),
            purpose=purpose,
            run_id=run_id,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(holder)).encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)  # nobody holds it now; the kernel releases the lock on close
    finally:
        os.close(fd)


def _acquire(fd: int, home: Path, *, wait: bool, on_wait: Callable[[LockHolder | None], None] | None) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    holder = _current_holder(home)
    if not wait:
        raise StateLocked(home, holder)
    if on_wait is not None:
        on_wait(holder)
    fcntl.flock(fd, fcntl.LOCK_EX)


def _current_holder(home: Path) -> LockHolder | None:
    """The holder's own words; it writes them just after taking the lock, so allow it a moment."""
    deadline = time.monotonic() + 0.5
    while (holder := read_holder(home)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return holder
