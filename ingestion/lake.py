"""The medallion lake: bronze (immutable loads), silver, gold and cold layers under one root.

Bronze is laid out as `bronze/<source>/<table>/load_date=YYYY-MM-DD/load_id=<id>/<file>.parquet`
(hive-style, so DuckDB and Spark read the partitions), and every load has a write-once manifest at
`bronze/<source>/_manifests/<load_id>.json` listing its objects with sizes, row counts and checksums.
The manifest is what later verification, lifecycle moves and raw reloads trust.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ingestion.errors import LakeError

LAYERS = ("bronze", "silver", "gold", "cold")
BRONZE_LAYOUT = "{table_name}/load_date={YYYY}-{MM}-{DD}/load_id={load_id}/{file_id}.{ext}"


@dataclass(frozen=True)
class ManifestObject:
    path: str  # relative to the source's bronze folder
    table: str
    bytes: int
    sha256: str
    rows: int


@dataclass
class Manifest:
    source: str
    load_id: str
    created_at: str
    objects: list[ManifestObject]
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def rows_by_table(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for obj in self.objects:
            totals[obj.table] = totals.get(obj.table, 0) + obj.rows
        return totals

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        objects = [ManifestObject(**o) for o in data["objects"]]
        return cls(data["source"], data["load_id"], data["created_at"], objects, data.get("inputs", []))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Lake:
    """A lake rooted at a local folder (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def layer_dir(self, layer: str) -> Path:
        if layer not in LAYERS:
            raise LakeError(f"unknown lake layer {layer!r}; layers are {', '.join(LAYERS)}")
        return self.root / layer

    def layer_url(self, layer: str) -> str:
        return self.layer_dir(layer).resolve().as_uri()

    def bronze_dir(self, source: str) -> Path:
        return self.layer_dir("bronze") / source

    def manifest_path(self, source: str, load_id: str) -> Path:
        return self.bronze_dir(source) / "_manifests" / f"{load_id}.json"

    def load_ids(self, source: str) -> list[str]:
        """Completed loads of a source, oldest first: dlt records a load in `_dlt_loads` only once all of
        its files are written, so a load cut short by a crash is not listed (dlt finishes it next run)."""
        loads_dir = self.bronze_dir(source) / "_dlt_loads"
        ids = {p.stem.split("__", 1)[1] for p in loads_dir.glob("*.jsonl")} if loads_dir.is_dir() else set()
        return sorted(ids, key=float)

    def load_files(self, source: str, load_id: str) -> list[Path]:
        return sorted(self.bronze_dir(source).glob(f"*/load_date=*/load_id={load_id}/*.parquet"))

    def manifests(self, source: str) -> list[Manifest]:
        folder = self.bronze_dir(source) / "_manifests"
        found = [Manifest.from_json(json.loads(p.read_text())) for p in folder.glob("*.json")]
        return sorted(found, key=lambda m: float(m.load_id))

    def write_manifest(self, source: str, load_id: str, inputs: list[dict[str, Any]]) -> Manifest:
        """Describe every object of a load and store the manifest, refusing to replace an existing one."""
        base = self.bronze_dir(source)
        objects = [
            ManifestObject(
                path=str(path.relative_to(base)),
                table=path.relative_to(base).parts[0],
                bytes=path.stat().st_size,
                sha256=sha256_file(path),
                rows=pq.ParquetFile(path).metadata.num_rows,
            )
            for path in self.load_files(source, load_id)
        ]
        manifest = Manifest(source, load_id, datetime.now(UTC).isoformat(timespec="seconds"), objects, inputs)
        self._write_once(self.manifest_path(source, load_id), json.dumps(asdict(manifest), indent=2))
        return manifest

    @staticmethod
    def _write_once(path: Path, text: str) -> None:
        """Create `path` atomically; an existing object is never overwritten (bronze is immutable)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if the target exists, unlike rename
        except FileExistsError:
            raise LakeError(
                f"{path} already exists: bronze objects are write-once and are never "
                "overwritten. Remove nothing; start a new load instead."
            ) from None
        finally:
            tmp.unlink()
