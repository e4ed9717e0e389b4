"""The lake on an S3 API (moto's server): ingestion end to end, write-once refusal, vault-only credentials."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import dlt
import duckdb
import pytest

from ingestion.errors import LakeError
from ingestion.lake import Lake, S3Credentials, S3Options
from ingestion.olist_schema import OLIST_TABLES
from ingestion.olist_source import ReadStats, olist_source
from ingestion.pipeline import ingest
from orchestration.services import build_services
from orchestration.settings import Settings
from security.audit import read_events
from security.secret_names import LAKE_ACCESS_KEY, LAKE_SECRET_KEY
from tests.fakes.s3_server import REGION, S3Server, s3_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def s3_lake(server: S3Server, prefix: str = "lake") -> Lake:
    creds = S3Credentials("AKIATESTTESTTESTTEST", "test-secret-key-not-real-0123456789")
    bucket = server.create_bucket(creds.access_key, creds.secret_key)
    options = S3Options(credentials=lambda: creds, endpoint_url=server.endpoint_url, region=REGION)
    return Lake.from_url(f"s3://{bucket}/{prefix}", s3=options)


def test_whole_ingestion_runs_on_the_s3_lake_with_vault_credentials(
    s3_server: S3Server,  # noqa: F811
    olist_small: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    # The bucket is named before the vault exists; its keys are the ones the vault generates below.
    bucket = "cofre-ingest"
    settings = Settings(home=home, lake_url=f"s3://{bucket}/lake", s3_endpoint_url=s3_server.endpoint_url)
    services = build_services(settings, actor="test")
    secret_key = services.vault.get(LAKE_SECRET_KEY)
    s3_server.create_bucket(services.vault.get(LAKE_ACCESS_KEY), secret_key, bucket)
    lake = services.lake
    assert lake.url == f"s3://{bucket}/lake" and secret_key not in repr(lake)

    stats = ReadStats()
    report = ingest(
        olist_source(olist_small, stats),
        lake=lake,
        raw_destination=dlt.destinations.duckdb(str(home / "w.duckdb")),
        raw_dataset="raw_olist",
        pipelines_dir=settings.dlt_dir,
        inputs=lambda: [asdict(f) for f in stats.files.values()],
    )
    assert report.manifest == f"s3://{bucket}/lake/bronze/olist/_manifests/{report.load_id}.json"
    assert report.raw_loads == [report.load_id]  # raw was loaded from the bronze objects, read back
    for table in OLIST_TABLES:
        assert report.bronze_rows[table.table] == report.raw_rows[table.table] > 0, table.table

    # Every object is described by its manifest, with its size and checksum.
    store = lake.bronze("olist")
    (manifest,) = lake.manifests("olist")
    assert manifest.load_id == report.load_id and lake.load_ids("olist") == [report.load_id]
    listed = store.list()
    for obj in manifest.objects:
        assert listed[obj.path] == obj.bytes and store.sha256(obj.path) == obj.sha256
    assert {i["file_name"] for i in manifest.inputs} == {t.file_name for t in OLIST_TABLES}
    with pytest.raises(LakeError, match="write-once"):
        lake.write_manifest("olist", report.load_id, [])

    # DuckDB reads the same bronze objects through the offline httpfs extension.
    import duckdb_extension_httpfs

    ext = next(Path(duckdb_extension_httpfs.__file__).parent.rglob("httpfs.duckdb_extension"))
    con = duckdb.connect()
    lake.configure_duckdb(con, str(ext))
    counted = con.execute(
        f"select count(*) from read_parquet('s3://{bucket}/lake/bronze/olist/orders/*/load_id={report.load_id}/*.parquet')"
    ).fetchone()
    assert counted is not None and counted[0] == report.bronze_rows["orders"]

    # The secret key came from the vault and went nowhere else: no file of the state directory and no
    # log line holds it in clear.
    reads = [e["target"] for e in read_events(settings.audit_path) if e["action"] == "secret.read"]
    assert {LAKE_ACCESS_KEY, LAKE_SECRET_KEY} <= set(reads)  # taken from the vault, audited
    out, err = capfd.readouterr()
    assert secret_key not in out + err
    assert secret_key not in caplog.text
    for path in home.rglob("*"):
        if path.is_file():
            assert secret_key.encode() not in path.read_bytes(), path


def test_bronze_objects_are_write_once_on_s3(s3_server: S3Server) -> None:  # noqa: F811
    lake = s3_lake(s3_server)
    store = lake.bronze("olist")
    store.put_if_absent("orders/load_date=2026-01-01/load_id=1/a.parquet", b"first")
    with pytest.raises(LakeError, match="write-once"):
        store.put_if_absent("orders/load_date=2026-01-01/load_id=1/a.parquet", b"second")
    assert store.read_bytes("orders/load_date=2026-01-01/load_id=1/a.parquet") == b"first"


def test_conditional_put_refuses_even_without_the_existence_check(s3_server: S3Server) -> None:  # noqa: F811
    """The server itself refuses the second PUT (If-None-Match: *), so two racing writers cannot both win."""
    lake = s3_lake(s3_server)
    store = lake.bronze("olist")
    store.put_if_absent("x/_manifests/1.json", b"{}")
    with pytest.raises(FileExistsError):
        store.fs.pipe_file(store.path("x/_manifests/1.json"), b"{ }", mode="create")
