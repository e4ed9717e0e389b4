"""What a killed ingestion leaves behind, removed at the next start.

- `generated/.<name>.partial-<random>/`: the generator writes the nine Olist files into a hidden sibling
  folder and renames it into place only when all are complete, so a kill leaves that folder and never a
  half-written `generated/<name>`. `remove_partial_generations` deletes such folders.
- `.<object>.<pid>.tmp` in a local lake: a write-once object (a manifest, a journal entry) is written to a
  temporary file and then linked into place; a kill in between leaves the temporary file, which no reader
  lists. `remove_lake_temp_files` deletes those whose writing process is gone.

Pending dlt load packages are not handled here: `ingestion.pipeline.ingest` aborts them before each load.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import psutil

from ingestion.lake import Lake

_PARTIAL = re.compile(r"^\..+\.partial-[A-Za-z0-9_]+$")
_LAKE_TMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def remove_partial_generations(generated_root: Path, *, idle_for_s: float = 0.0) -> list[Path]:
    """Delete the `.<name>.partial-*` folders under `generated_root` (the state directory's `generated/`)
    that a generation killed mid-way left, and return them. Complete generations are never touched.

    Call it at the start of a run while holding the state directory's run lock, so that no live
    generation is writing there. Without the lock, `idle_for_s` keeps a folder whose newest file changed
    within that many seconds (a generation still writing it).
    """
    if not generated_root.is_dir():
        return []
    removed = []
    now = time.time()
    for path in sorted(generated_root.iterdir()):
        if not _PARTIAL.match(path.name) or path.is_symlink() or not path.is_dir():
            continue
        newest = max((p.stat().st_mtime for p in path.rglob("*")), default=path.stat().st_mtime)
        if idle_for_s and now - newest < idle_for_s:
            continue
        shutil.rmtree(path)
        removed.append(path)
    return removed


def remove_lake_temp_files(lake: Lake) -> list[Path]:
    """Delete the `.<name>.<pid>.tmp` files of a local lake whose writing process is no longer running
    (a write-once object's write cut short by a kill) and return them. An S3 lake has none: a PUT is
    atomic."""
    if not lake.is_local or not lake.root.is_dir():
        return []
    removed = []
    for path in sorted(lake.root.rglob(".*.tmp")):
        match = _LAKE_TMP.match(path.name)
        if match is None or not path.is_file() or psutil.pid_exists(int(match.group(1))):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed
