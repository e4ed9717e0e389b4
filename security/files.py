"""Durable, atomic file replacement and inter-process locks for the vault, key file and audit head.

A reader must only ever see the old or the new content of a file, whatever moment a process is killed:
content goes to a temporary file in the same directory, is fsynced, renamed over the target (atomic on
POSIX), and the directory is fsynced so the rename itself survives a crash. Callers hold the target's
lock while writing, which is what makes removing stale temporary files of that target safe.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from security.errors import LockBusy, VaultAlreadyExists

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
DEFAULT_LOCK_TIMEOUT_S = 30.0


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) so that only the owner can list or enter the new directories.

    Each missing level is created 0700 (`Path.mkdir(parents=True)` would give the parents the default
    mode, 0755 under the usual umask); directories that already exist are left as they are."""
    missing = []
    for level in (path, *path.parents):
        if level.exists():
            break
        missing.append(level)
    for level in reversed(missing):
        level.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Temporary files left by a killed writer may hold key material: delete them under the lock."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def atomic_write(
    path: Path,
    data: bytes,
    *,
    overwrite: bool = True,
    before_rename: Callable[[], None] | None = None,
    sync_dir: bool = True,
) -> None:
    """Replace (or, with overwrite=False, create) `path`, mode 0600, so no reader sees a partial file.

    With overwrite=False the new file is hard-linked into place, which fails if the target exists even
    when another process creates it at the same moment. `before_rename` runs once the temporary file is
    durable but not yet visible (rotation reports progress there; tests kill the process there).
    `sync_dir=False` skips the fsync of the directory: after a crash the file then holds the old or the new
    content, both whole; for files where losing the last replacement is harmless (the anchor only lags).
    """
    _remove_stale_temps(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename()
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise VaultAlreadyExists(path) from None
            finally:
                tmp.unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


@contextlib.contextmanager
def held(lock: FileLock, timeout_s: float) -> Iterator[None]:
    """Hold `lock`, turning a timeout into an error that tells the user what is going on."""
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise LockBusy(lock.lock_file, timeout_s) from None
    try:
        yield
    finally:
        lock.release()


def private_lock(target: Path) -> FileLock:
    """The lock guarding `target`: a sibling `<name>.lock` file, created owner-only."""
    return FileLock(str(target) + ".lock", mode=PRIVATE_FILE_MODE)
