"""Helpers of the security tests that run real processes and scan files for leaked values."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"


def run_python(
    code: str, *args: str, env: dict[str, str], input_text: str | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter of the project's virtualenv (a real, separate process)."""
    return subprocess.run(
        [str(PYTHON), "-c", code, *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO,
        check=False,
    )


def files_containing(root: Path, needles: list[str]) -> Iterator[tuple[Path, str]]:
    """Every (file, needle) pair where a file under `root` contains a needle's bytes."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            for needle in needles:
                if needle.encode() in content:
                    yield path, needle
