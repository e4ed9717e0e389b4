"""What a killed generation or lake write leaves is removed at the next start (real SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.lake import Lake
from ingestion.leftovers import remove_lake_temp_files, remove_partial_generations
from ingestion.olist_generator import generate_olist
from ingestion.olist_schema import OLIST_TABLES

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
GENERATE = (
    "import sys; from pathlib import Path; from ingestion.olist_generator import generate_olist; "
    "generate_olist(Path(sys.argv[1]), scale=float(sys.argv[2]), seed=1)"
)


def test_a_generation_killed_mid_way_is_removed_and_complete_ones_are_kept(tmp_path: Path) -> None:
    generated = tmp_path / "home" / "generated"
    complete = generated / "olist_sf0.001_seed1"
    generate_olist(complete, scale=0.001, seed=1)
    target = generated / "olist_sf0.3_seed1"

    process = subprocess.Popen([sys.executable, "-c", GENERATE, str(target), "0.3"], cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        partial: list[Path] = []
        while time.monotonic() < deadline and not partial:
            assert process.poll() is None, "the generation ended before it could be killed"
            partial = [p for p in generated.glob(".olist_sf0.3_seed1.partial-*") if any(p.iterdir())]
            time.sleep(0.05)
        assert partial, "the generation never started writing"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert partial[0].is_dir() and not target.exists()  # what the kill leaves

    assert remove_partial_generations(generated, idle_for_s=3600) == []  # "still being written": kept
    assert remove_partial_generations(generated) == partial
    assert sorted(p.name for p in generated.iterdir()) == [complete.name]
    assert sorted(p.name for p in complete.iterdir()) == sorted(t.file_name for t in OLIST_TABLES)
    generate_olist(target, scale=0.001, seed=1)  # the next generation starts clean


def test_a_lake_write_killed_before_its_link_leaves_a_temp_file_that_is_removed(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    manifests = lake.bronze_dir("olist") / "_manifests"
    # A real writer killed between writing its temporary file and linking it into place.
    script = (
        "import os, sys; from pathlib import Path; p = Path(sys.argv[1]); p.mkdir(parents=True); "
        "t = p / f'.1700000000.5.json.{os.getpid()}.tmp'; t.write_text('{'); "
        "print(t, flush=True); sys.stdin.read()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(manifests)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    temp = Path(process.stdout.readline().strip())
    assert remove_lake_temp_files(lake) == []  # its writer is alive
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert temp.exists()
    assert remove_lake_temp_files(lake) == [temp]
    assert not temp.exists() and manifests.is_dir()
