"""Small bronze loads written straight into a lake, for tests of verification and the lifecycle."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.lake import Lake, Manifest, S3Credentials, S3Options, Store
from tests.fakes.s3_server import REGION, S3Server

TEST_CREDENTIALS = S3Credentials("AKIATESTTESTTESTTEST", "test-secret-key-not-real-0123456789")


def s3_lake(server: S3Server, *, separate_cold_bucket: bool = False) -> Lake:
    creds = TEST_CREDENTIALS
    bucket = server.create_bucket(creds.access_key, creds.secret_key)
    cold = None
    if separate_cold_bucket:
        cold = f"s3://{server.create_bucket(creds.access_key, creds.secret_key)}/cold"
    options = S3Options(credentials=lambda: creds, endpoint_url=server.endpoint_url, region=REGION)
    return Lake.from_url(f"s3://{bucket}/lake", cold_url=cold, s3=options)


def make_lake(kind: str, tmp_path: Path, server: S3Server | None) -> Lake:
    if kind == "file":
        return Lake(tmp_path / "lake")
    assert server is not None
    return s3_lake(server, separate_cold_bucket=True)


def parquet_bytes(rows: int, seed: int) -> bytes:
    table = pa.table({"id": list(range(seed, seed + rows)), "name": [f"n{seed}-{i}" for i in range(rows)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def make_load(
    lake: Lake, source: str, load_id: str, tables: tuple[str, ...] = ("orders", "items")
) -> Manifest:
    """A bronze load laid out as dlt writes it (two files per table), with its manifest."""
    store = lake.bronze(source)
    for n, table in enumerate(tables):
        for part in range(2):
            key = f"{table}/load_date=2020-01-01/load_id={load_id}/{table}.{part}.parquet"
            store.put_if_absent(key, parquet_bytes(5 + n + part, int(float(load_id)) + part))
    return lake.write_manifest(source, load_id, [])


def snapshot(store: Store) -> dict[str, str]:
    return {key: store.sha256(key) for key in store.list()}
