"""The S3A jars' install step (docker/spark/fetch_jars.py on docker/spark/jars.lock): a second install is
served from the cache with no network, and a damaged cached jar is never installed."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from orchestration.gold.spark import JARS_LOCK, REPO_ROOT

UNREACHABLE = "https://127.0.0.1:9/maven2"  # nothing listens on port 9: any download would fail


def _fetch_jars() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fetch_jars", REPO_ROOT / "docker" / "spark" / "fetch_jars.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_second_install_needs_no_network(tmp_path: Path) -> None:
    fetch = _fetch_jars()
    cache = fetch.default_cache()  # filled by `make install`
    installed = fetch.install(JARS_LOCK, tmp_path / "jars", cache, UNREACHABLE)
    pinned = fetch.read_lock(JARS_LOCK)
    assert [p.name for p in installed] == [path.rsplit("/", 1)[-1] for path, _ in pinned]
    for jar, (path, digest) in zip(installed, pinned, strict=True):
        assert fetch.sha256(jar) == digest
        assert jar.stat().st_ino == (cache / path).stat().st_ino  # hard-linked, not a 690 MB copy


def test_a_damaged_cached_jar_is_refused(tmp_path: Path) -> None:
    fetch = _fetch_jars()
    (path, digest), *_ = fetch.read_lock(JARS_LOCK)  # hadoop-aws, the small one
    cache = tmp_path / "cache"
    damaged = cache / path
    damaged.parent.mkdir(parents=True)
    shutil.copyfile(fetch.default_cache() / path, damaged)
    with damaged.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"tampered")
    assert fetch.sha256(damaged) != digest
    lock = tmp_path / "jars.lock"
    lock.write_text(f"{path} {digest}\n")
    with pytest.raises(OSError):  # it tries to fetch a good copy (unreachable here) instead of using it
        fetch.install(lock, tmp_path / "jars", cache, UNREACHABLE)
    assert not (tmp_path / "jars" / path.rsplit("/", 1)[-1]).exists()
