"""The medallion lake: bronze (immutable loads), silver, gold and cold layers under one root URL.

The root is a local folder (`file://…`, the embedded default) or an S3 prefix (`s3://bucket/prefix` on
MinIO or any S3 endpoint); both are reached through fsspec (its local filesystem, or s3fs) behind the
small `Store` interface below, so ingestion, verification and the lifecycle never care which it is.

Bronze is laid out as `bronze/<source>/<table>/load_date=YYYY-MM-DD/load_id=<id>/<file>.parquet`
(hive-style, so DuckDB and Spark read the partitions), and every load has a write-once manifest at
`bronze/<source>/_manifests/<load_id>.json` listing its objects with sizes, row counts and checksums.
The manifest is what later verification, lifecycle moves and raw reloads trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit

import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

from ingestion.errors import LakeError

LAYERS = ("bronze", "silver", "gold", "cold")
BRONZE_LAYOUT = "{table_name}/load_date={YYYY}-{MM}-{DD}/load_id={load_id}/{file_id}.{ext}"
MANIFESTS = "_manifests"
_BLOCK = 1 << 20


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

    @property
    def bytes(self) -> int:
        return sum(o.bytes for o in self.objects)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        objects = [ManifestObject(**o) for o in data["objects"]]
        return cls(data["source"], data["load_id"], data["created_at"], objects, data.get("inputs", []))


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return sha256_stream(handle)


def sha256_stream(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class S3Credentials:
    """Access key pair of the lake, resolved from the vault at the moment of use; never printed."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3 lake: the endpoint (None: AWS), the region, and where credentials come from.

    `credentials` is called when a connection is first needed, not when the lake is described, so a
    lake that is never touched never reads its secrets.
    """

    credentials: Callable[[], S3Credentials] = field(repr=False)
    endpoint_url: str | None = None
    region: str = "us-east-1"


class Store:
    """One folder of the lake (a layer, or a prefix in it): the only object operations cofre uses.

    Keys are `/`-separated paths relative to the store's URL.
    """

    def __init__(self, url: str, fs: Callable[[], AbstractFileSystem]) -> None:
        self.url = url.rstrip("/")
        self._fs = fs

    @property
    def fs(self) -> AbstractFileSystem:
        return self._fs()

    @property
    def is_local(self) -> bool:
        return urlsplit(self.url).scheme == "file"

    @property
    def root(self) -> str:
        """The store's location in fsspec's terms (`/abs/path` or `bucket/prefix`)."""
        return cast(str, self.fs._strip_protocol(self.url)).rstrip("/")

    def path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def url_of(self, key: str) -> str:
        return f"{self.url}/{key}" if key else self.url

    def child(self, prefix: str) -> Store:
        return Store(self.url_of(prefix), self._fs)

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self.path(key)))

    def open(self, key: str) -> IO[bytes]:
        """Open an object for reading (a seekable file object: pyarrow reads Parquet through it)."""
        try:
            return cast(IO[bytes], self.fs.open(self.path(key), "rb"))
        except FileNotFoundError:
            raise LakeError(f"{self.url_of(key)} does not exist") from None

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def size(self, key: str) -> int:
        return int(self.fs.size(self.path(key)))

    def sha256(self, key: str) -> str:
        with self.open(key) as handle:
            return sha256_stream(handle)

    def list(self, prefix: str = "") -> dict[str, int]:
        """Every object under `prefix` (recursively) as key -> size, sorted by key; hidden temporary
        files of an atomic local write (`.name.pid.tmp`) are left out."""
        base = self.path(prefix).rstrip("/")
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        objects: dict[str, int] = {}
        root = self.root + "/"
        for name, info in found.items():
            name = name.rstrip("/")
            if info.get("type") == "directory" or not name.startswith(base + "/"):
                continue  # directories, and siblings sharing the prefix (`olist2` when listing `olist`)
            key = name[len(root) :]
            if key.rsplit("/", 1)[-1].startswith("."):
                continue
            objects[key] = int(info.get("size") or 0)
        return dict(sorted(objects.items()))

    def put_if_absent(self, key: str, data: bytes) -> None:
        """Create the object `key`; refuse (LakeError) if it already exists. Never overwrites.

        Locally: written to a temporary file, then hard-linked into place (a link fails if the target
        exists, unlike a rename). On S3: a conditional PUT with `If-None-Match: *`, which S3, MinIO and
        moto refuse with 412 when the key exists, after a plain existence check for the servers that
        ignore the header (there, two writers racing on one key could both succeed: documented limit).
        """
        if self.is_local:
            self._put_local(key, data, exclusive=True)
            return
        if self.exists(key):
            raise self._exists_error(key)
        try:
            self.fs.pipe_file(self.path(key), data, mode="create")
        except FileExistsError:
            raise self._exists_error(key) from None

    def put(self, key: str, data: bytes) -> None:
        """Write (or replace) an object atomically; only for layers that are not write-once."""
        if self.is_local:
            self._put_local(key, data, exclusive=False)
        else:
            self.fs.pipe_file(self.path(key), data)

    def delete(self, key: str) -> None:
        """Remove an object; an object already gone is not an error (deletes are retried after a crash)."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(key))

    def copy_to(self, key: str, target: Store, target_key: str) -> None:
        """Copy one object, atomically at the target: server-side on one S3 endpoint, through a temporary
        file and a rename locally, so a crash never leaves a half-written object under the final name."""
        if not self.is_local and not target.is_local and self.fs is target.fs:
            self.fs.copy(self.path(key), target.path(target_key))
            return
        with self.open(key) as handle:
            if target.is_local:
                target._put_local(target_key, handle, exclusive=False)  # streamed, not held in memory
            else:
                target.put(target_key, handle.read())

    def _put_local(self, key: str, data: bytes | IO[bytes], *, exclusive: bool) -> None:
        path = Path(self.path(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                shutil.copyfileobj(data, handle, _BLOCK)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            if exclusive:
                os.link(tmp, path)
            else:
                os.replace(tmp, path)
        except FileExistsError:
            raise self._exists_error(key) from None
        finally:
            tmp.unlink(missing_ok=True)

    def _exists_error(self, key: str) -> LakeError:
        return LakeError(
            f"{self.url_of(key)} already exists: bronze objects are write-once and are never "
            "overwritten. Remove nothing; start a new load instead."
        )


def _local_fs() -> AbstractFileSystem:
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem(auto_mkdir=True)


class Lake:
    """The lake at a root URL: the embedded default is a local folder, `Lake(Path)`.

    `Lake.from_url("s3://bucket/prefix", s3=S3Options(...))` is the same lake on an S3 endpoint; the
    cold layer is `<root>/cold` unless `cold_url` names another bucket or prefix (same endpoint).
    """

    def __init__(self, root: Path | str, *, cold_url: str | None = None, s3: S3Options | None = None) -> None:
        url = Path(root).expanduser().resolve().as_uri() if isinstance(root, Path) else str(root)
        scheme = urlsplit(url).scheme
        if scheme not in ("file", "s3"):
            raise LakeError(f"unsupported lake URL {url!r}: use file:///path or s3://bucket/prefix")
        if cold_url is not None and urlsplit(cold_url).scheme != scheme:
            raise LakeError(f"the cold layer {cold_url!r} must use the lake's scheme ({scheme}://)")
        if scheme == "s3" and s3 is None:
            raise LakeError(f"the lake {url} is on S3: give its endpoint, region and vault credentials")
        self.url = url.rstrip("/")
        self.cold_url = (cold_url or f"{self.url}/cold").rstrip("/")
        self.s3 = s3
        self._filesystem: AbstractFileSystem | None = None

    @classmethod
    def from_url(cls, url: str, *, cold_url: str | None = None, s3: S3Options | None = None) -> Lake:
        if "://" not in url:
            return cls(Path(url), cold_url=cold_url, s3=s3)
        return cls(url, cold_url=cold_url, s3=s3)

    def __repr__(self) -> str:
        return f"Lake({self.url!r}, cold_url={self.cold_url!r})"

    # -- connection --------------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return urlsplit(self.url).scheme == "file"

    @property
    def root(self) -> Path:
        """The local folder of an embedded lake."""
        if not self.is_local:
            raise LakeError(f"the lake {self.url} is not a local folder")
        return Path(urlsplit(self.url).path)

    def filesystem(self) -> AbstractFileSystem:
        """The fsspec filesystem of the lake, created (and its credentials read) on first use."""
        if self._filesystem is None:
            if self.is_local:
                self._filesystem = _local_fs()
            else:
                import s3fs

                assert self.s3 is not None
                creds = self.s3.credentials()
                self._filesystem = s3fs.S3FileSystem(
                    key=creds.access_key,
                    secret=creds.secret_key,
                    endpoint_url=self.s3.endpoint_url,
                    client_kwargs={"region_name": self.s3.region},
                    skip_instance_cache=True,
                    use_listings_cache=False,
                )
        return self._filesystem

    def dlt_credentials(self) -> dict[str, Any] | None:
        """Credentials for dlt's filesystem destination (None for a local lake), passed explicitly."""
        if self.s3 is None or self.is_local:
            return None
        creds = self.s3.credentials()
        values = {
            "aws_access_key_id": creds.access_key,
            "aws_secret_access_key": creds.secret_key,
            "region_name": self.s3.region,
        }
        if self.s3.endpoint_url:
            values["endpoint_url"] = self.s3.endpoint_url
        return values

    def configure_duckdb(self, con: Any, httpfs_extension: str) -> None:
        """Let a DuckDB connection read (and write) the lake's s3:// URLs: load the httpfs extension from
        its offline wheel (`httpfs_extension` is the path of `httpfs.duckdb_extension`) and create a
        session secret. The key pair is bound as parameters, so it never appears in SQL text or logs.
        A local lake needs nothing: DuckDB reads its files directly."""
        if self.is_local:
            return
        assert self.s3 is not None
        con.execute("SET autoinstall_known_extensions=false")
        con.execute(f"LOAD '{httpfs_extension}'")
        creds = self.s3.credentials()
        endpoint = urlsplit(self.s3.endpoint_url or "https://s3.amazonaws.com")
        con.execute(
            "CREATE OR REPLACE SECRET cofre_lake (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, ENDPOINT ?, "
            "URL_STYLE 'path', USE_SSL ?)",
            [creds.access_key, creds.secret_key, self.s3.region, endpoint.netloc, endpoint.scheme == "https"],
        )

    # -- layers ------------------------------------------------------------------------------------

    def layer_url(self, layer: str) -> str:
        if layer not in LAYERS:
            raise LakeError(f"unknown lake layer {layer!r}; layers are {', '.join(LAYERS)}")
        return self.cold_url if layer == "cold" else f"{self.url}/{layer}"

    def layer(self, layer: str) -> Store:
        return Store(self.layer_url(layer), self.filesystem)

    def layer_dir(self, layer: str) -> Path:
        """The local folder of a layer (embedded lake only)."""
        url = self.layer_url(layer)
        if not self.is_local:
            raise LakeError(f"the layer {url} is not a local folder; use lake.layer({layer!r})")
        return Path(urlsplit(url).path)

    def bronze(self, source: str) -> Store:
        return self.layer("bronze").child(source)

    def bronze_dir(self, source: str) -> Path:
        """The local folder of a source's bronze loads (embedded lake only)."""
        return self.layer_dir("bronze") / source

    def manifest_key(self, load_id: str) -> str:
        """Key of a load's manifest, relative to the source's bronze store."""
        return f"{MANIFESTS}/{load_id}.json"

    def manifest_url(self, source: str, load_id: str) -> str:
        return self.bronze(source).url_of(self.manifest_key(load_id))

    def manifest_path(self, source: str, load_id: str) -> Path:
        return self.bronze_dir(source) / self.manifest_key(load_id)

    # -- bronze loads ------------------------------------------------------------------------------

    def sources(self) -> list[str]:
        """Sources with at least one manifest in bronze."""
        keys = self.layer("bronze").list()
        return sorted({k.split("/", 1)[0] for k in keys if f"/{MANIFESTS}/" in k})

    def load_ids(self, source: str) -> list[str]:
        """Completed loads of a source, oldest first: dlt records a load in `_dlt_loads` only once all of
        its files are written, so a load cut short by a crash is not listed (dlt finishes it next run)."""
        keys = self.bronze(source).list("_dlt_loads")
        ids = {k.rsplit("/", 1)[-1].removesuffix(".jsonl").split("__", 1)[1] for k in keys if "__" in k}
        return sorted(ids, key=float)

    def load_objects(self, source: str, load_id: str) -> dict[str, int]:
        """Parquet objects of one load (key relative to the source's bronze store -> size)."""
        pattern = re.compile(rf"[^/]+/load_date=[^/]+/load_id={re.escape(load_id)}/[^/]+\.parquet")
        return {k: n for k, n in self.bronze(source).list().items() if pattern.fullmatch(k)}

    def load_files(self, source: str, load_id: str) -> list[Path]:
        """Local paths of a load's objects (embedded lake only)."""
        return [self.bronze_dir(source) / k for k in self.load_objects(source, load_id)]

    def manifests(self, source: str) -> list[Manifest]:
        store = self.bronze(source)
        found = [
            Manifest.from_json(json.loads(store.read_bytes(key)))
            for key in store.list(MANIFESTS)
            if key.endswith(".json")
        ]
        return sorted(found, key=lambda m: float(m.load_id))

    def current_inputs(self, source: str) -> dict[str, dict[str, Any]]:
        """For each table, the input file whose data the source's latest bronze load of that table holds:
        its manifest `inputs` entry (sha256, lines, rows, quarantined), with `load_id` set to the load that
        holds the data. A table whose latest load does not record its input (a load completed after its
        run died, or written before inputs named their table) is left out: its data is of unknown origin,
        so any file for it counts as changed."""
        current: dict[str, dict[str, Any]] = {}
        decided: set[str] = set()
        for manifest in reversed(self.manifests(source)):
            described = {str(i["table"]): i for i in manifest.inputs if i.get("table") and i.get("sha256")}
            for table, entry in described.items():
                if table not in decided:
                    current[table] = {**entry, "load_id": entry.get("load_id") or manifest.load_id}
            decided |= set(described) | {o.table for o in manifest.objects}
        return current

    def manifest(self, source: str, load_id: str) -> Manifest:
        store = self.bronze(source)
        key = self.manifest_key(load_id)
        if not store.exists(key):
            raise LakeError(f"no manifest for load {load_id} of {source} at {store.url_of(key)}")
        return Manifest.from_json(json.loads(store.read_bytes(key)))

    def write_manifest(self, source: str, load_id: str, inputs: list[dict[str, Any]]) -> Manifest:
        """Describe every object of a load and store the manifest, refusing to replace an existing one."""
        store = self.bronze(source)
        objects = []
        for key, size in self.load_objects(source, load_id).items():
            with store.open(key) as handle:
                digest = sha256_stream(handle)
                rows = pq.ParquetFile(handle).metadata.num_rows
            objects.append(ManifestObject(key, key.split("/", 1)[0], size, digest, rows))
        manifest = Manifest(source, load_id, datetime.now(UTC).isoformat(timespec="seconds"), objects, inputs)
        store.put_if_absent(self.manifest_key(load_id), manifest.to_json().encode("utf-8"))
        return manifest

    def read_parquet_batches(self, store: Store, key: str, batch_size: int = 200_000) -> Iterator[Any]:
        """Record batches of one Parquet object, read through the lake's filesystem."""
        with store.open(key) as handle:
            yield from pq.ParquetFile(handle).iter_batches(batch_size=batch_size)


# -- where each load lives: the lifecycle journal in the cold layer ---------------------------------------

JOURNAL = "_journal"
IN_BRONZE_STATES = (None, "copied", "restored")
"""Journal states in which a load's authoritative objects are in bronze (see ingestion/lifecycle.py)."""


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    state: str
    at: str
    details: dict[str, Any]


def cold_key(source: str, key: str) -> str:
    """Key in the cold layer of an object (or manifest) of a source's bronze store."""
    return f"bronze/{source}/{key}"


def journal(lake: Lake, source: str, load_id: str) -> list[JournalEntry]:
    """The lifecycle steps recorded for one load, oldest first."""
    store = lake.layer("cold")
    entries = []
    for key in store.list(f"{JOURNAL}/{source}/{load_id}"):
        data = json.loads(store.read_bytes(key))
        entries.append(JournalEntry(data["seq"], data["state"], data["at"], data.get("details", {})))
    return sorted(entries, key=lambda e: e.seq)


def load_state(lake: Lake, source: str, load_id: str) -> str | None:
    """The last recorded lifecycle state of a load; None if the lifecycle never touched it."""
    entries = journal(lake, source, load_id)
    return entries[-1].state if entries else None


def record_state(lake: Lake, source: str, load_id: str, state: str, details: dict[str, Any]) -> JournalEntry:
    """Append one step to a load's journal: a new write-once object, so two runs racing on one load
    cannot both record the same step (the second gets a LakeError and stops)."""
    entries = journal(lake, source, load_id)
    seq = entries[-1].seq + 1 if entries else 1
    entry = JournalEntry(seq, state, datetime.now(UTC).isoformat(timespec="seconds"), details)
    lake.layer("cold").put_if_absent(
        f"{JOURNAL}/{source}/{load_id}/{seq:06d}-{state}.json", json.dumps(asdict(entry)).encode()
    )
    return entry


# -- verification -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    source: str
    load_id: str
    url: str
    problem: str  # "missing", or "altered: …" (size or checksum differs from the manifest)


@dataclass
class VerifyReport:
    loads: int = 0
    objects: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(lake: Lake, source: str | None = None) -> VerifyReport:
    """Re-check every object of every manifest (in bronze, or in cold for archived loads): present, same
    size, same SHA-256. Reads every byte once; reports, never repairs."""
    report = VerifyReport()
    for name in [source] if source else lake.sources():
        for manifest in lake.manifests(name):
            report.loads += 1
            in_bronze = load_state(lake, name, manifest.load_id) in IN_BRONZE_STATES
            store = lake.bronze(name) if in_bronze else lake.layer("cold")
            present = store.list() if in_bronze else store.list(f"bronze/{name}")
            for obj in manifest.objects:
                report.objects += 1
                key = obj.path if in_bronze else cold_key(name, obj.path)
                problem = None
                if key not in present:
                    problem = "missing"
                elif present[key] != obj.bytes:
                    problem = f"altered: {present[key]} bytes, manifest says {obj.bytes}"
                elif store.sha256(key) != obj.sha256:
                    problem = "altered: checksum differs from the manifest"
                if problem:
                    report.problems.append(Problem(name, manifest.load_id, store.url_of(key), problem))
    return report
