#!/usr/bin/env python3
"""Fetch the jars of a lock file (docker/spark/jars.lock) from Maven Central, verified by SHA-256.

    fetch_jars.py LOCK DEST [--cache DIR] [--repository URL]

Each line of LOCK is `<path under the Maven repository> <sha256>`. A jar is downloaded over HTTPS into the
cache (default: $XDG_CACHE_HOME/cofre/maven, else ~/.cache/cofre/maven) unless a copy with the right
digest is already there, checked, and then hard-linked (or copied, across filesystems) into DEST. A second
install finds everything in the cache and needs no network. A digest mismatch fails before anything reaches
DEST. Standard library only: the images run it too (docker/spark/Dockerfile, docker/cofre/Dockerfile).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
_BLOCK = 1 << 20


def read_lock(lock: Path) -> list[tuple[str, str]]:
    """(maven path, sha256) of every jar of the lock file."""
    entries = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            path, digest = line.split()
            entries.append((path, digest.lower()))
    return entries


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cofre" / "maven"


def cached(maven_path: str, digest: str, cache: Path, repository: str) -> Path:
    """The verified jar in the cache, downloaded first if it is missing or damaged."""
    target = cache / maven_path
    if target.is_file() and sha256(target) == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    url = f"{repository.rstrip('/')}/{maven_path}"
    if not url.startswith("https://"):
        raise SystemExit(f"refusing to download {url}: jars come over HTTPS only")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310
            shutil.copyfileobj(response, out, _BLOCK)
        found = sha256(Path(tmp))
        if found != digest:
            raise SystemExit(f"{url}: sha256 {found} is not the pinned {digest}; nothing was installed")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; Spark may run as another user (the images' `spark`)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def install(lock: Path, dest: Path, cache: Path, repository: str = MAVEN_CENTRAL) -> list[Path]:
    """Every jar of `lock` in `dest` (verified), through the cache; returns their paths in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    installed = []
    for maven_path, digest in read_lock(lock):
        target = dest / maven_path.rsplit("/", 1)[-1]
        if not (target.is_file() and sha256(target) == digest):
            source = cached(maven_path, digest, cache, repository)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.unlink(missing_ok=True)
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        installed.append(target)
        print(f"{target.name}: sha256 ok")
    return installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("lock", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--repository", default=MAVEN_CENTRAL)
    args = parser.parse_args(argv)
    install(args.lock, args.dest, args.cache or default_cache(), args.repository)
    return 0


if __name__ == "__main__":
    sys.exit(main())
