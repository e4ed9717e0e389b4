"""What a killed run leaves behind, found by names that carry the pid of the process that made it, and
removed at the next start only once that process is dead.

- `.cofre_marts.duckdb.<pid>.tmp` (+ `.tmp.wal`), `.cofre_ops.duckdb.<pid>.tmp`: a publish's staged
  file (orchestration.warehouse.publish);
- `runs/<run_id>.json.<pid>.tmp`: a run record being written (orchestration.runner);
- `tmp/spark-<pid>/`: Spark's scratch space of that process (Settings.spark_local_dir).
and, through ingestion's own cleanup (`ingestion.leftovers`): `generated/.<name>.partial-*`
of a killed generation and a local lake's `.<object>.<pid>.tmp`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.leftovers import remove_lake_temp_files, remove_partial_generations
from orchestration.processes import is_alive
from orchestration.settings import Settings
from orchestration.warehouse.publish import STAGED_PATTERN

if TYPE_CHECKING:
    from ingestion.lake import Lake


def patterns(settings: Settings) -> list[tuple[Path, re.Pattern[str]]]:
    """(folder, pattern of a leftover's name with a `pid` group) for every temp artefact cofre makes."""
    return [
        (settings.published_path.parent, re.compile(STAGED_PATTERN)),
        (settings.runs_dir, re.compile(r"^.+\.(?P<pid>\d+)\.tmp$")),
        (settings.tmp_dir, re.compile(r"^spark-(?P<pid>\d+)$")),
    ]


def find_leftovers(settings: Settings) -> Iterator[Path]:
    """Temp artefacts whose process is dead (never this process's, never a live one's)."""
    for folder, pattern in patterns(settings):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = pattern.match(path.name)
            if match is None:
                continue
            pid = int(match["pid"])
            if pid != os.getpid() and not is_alive(pid):
                yield path


def remove_leftovers(settings: Settings, lake: Lake | None = None) -> list[Path]:
    """Remove what dead processes left (call it holding the state lock); returns what was removed."""
    removed = []
    for path in find_leftovers(settings):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    # Ingestion's own cleanup, which knows its temp names (called under the run lock, so no generation
    # or lake write of a live run is touched).
    removed += remove_partial_generations(settings.home / "generated")
    if lake is not None:
        removed += remove_lake_temp_files(lake)
    return removed
