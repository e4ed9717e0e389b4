"""The lifecycle moves bronze loads to cold and back with no loss and no duplicate, even when killed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingestion import lifecycle
from ingestion.errors import LakeError
from ingestion.lake import Lake, Manifest, cold_key, journal, load_state, verify
from orchestration.cli.commands.lifecycle import app
from security.audit import AuditTrail, read_events
from tests.fakes.s3_server import S3Server, s3_server  # noqa: F401 (fixture)
from tests.ingestion.lake_helpers import TEST_CREDENTIALS, make_lake, make_load, snapshot

pytestmark = pytest.mark.integration

LATER = datetime.now(UTC) + timedelta(days=400)  # every load made by the test is then 400 days old
AUDIT_KEY = b"k" * 32

CRASHING_RUN = """
import json, os, signal, sys
from datetime import datetime
from pathlib import Path
from typing import Any
from ingestion import lifecycle
from ingestion.lake import Lake, S3Credentials, S3Options
from security.audit import AuditTrail

cfg = json.loads(sys.stdin.read())  # credentials on stdin, never on the command line
s3 = None
if cfg["endpoint"]:
    creds = S3Credentials(cfg["access_key"], cfg["secret_key"])
    s3 = S3Options(credentials=lambda: creds, endpoint_url=cfg["endpoint"])
lake = Lake.from_url(cfg["lake_url"], cold_url=cfg["cold_url"], s3=s3)
step, count = cfg["crash_at"].split(":")
seen = []

def crash(name):
    if name == step:
        seen.append(name)
        if len(seen) == int(count):
            os.kill(os.getpid(), signal.SIGKILL)

audit = AuditTrail(Path(cfg["audit"]), bytes.fromhex(cfg["audit_key"]), actor="crashing-run")
lifecycle.run(lake, older_than_days=30, now=datetime.fromisoformat(cfg["now"]), audit=audit, hook=crash)
"""


def loads(lake: Lake) -> list[Manifest]:
    made = [make_load(lake, "olist", "1600000000.1"), make_load(lake, "olist", "1600000100.2")]
    return [*made, make_load(lake, "bcb", "1600000200.3", tables=("ipca",))]


def data_objects(lake: Lake, manifests: list[Manifest]) -> tuple[dict[str, str], dict[str, str]]:
    """(source/path -> sha256) of the loads' objects found in bronze, and in cold."""
    bronze, cold = {}, {}
    cold_store = lake.layer("cold")
    in_cold = cold_store.list()
    for source in {m.source for m in manifests}:
        store = lake.bronze(source)
        in_bronze = store.list()
        for obj in (o for m in manifests if m.source == source for o in m.objects):
            if obj.path in in_bronze:
                bronze[f"{source}/{obj.path}"] = store.sha256(obj.path)
            if cold_key(source, obj.path) in in_cold:
                cold[f"{source}/{obj.path}"] = cold_store.sha256(cold_key(source, obj.path))
    return bronze, cold


def expected(manifests: list[Manifest]) -> dict[str, str]:
    return {f"{m.source}/{o.path}": o.sha256 for m in manifests for o in m.objects}


@pytest.mark.parametrize(
    ("kind", "crash_at"),
    [
        ("s3", "copied:1"),  # copies verified and recorded, nothing deleted yet
        ("file", "object-copied:3"),  # in the middle of the copies of the second load
        ("file", "copied:1"),
        ("file", "object-deleted:2"),  # in the middle of the deletes
    ],
)
def test_killed_move_is_finished_by_the_next_run_without_loss_or_duplicate(
    kind: str,
    crash_at: str,
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
) -> None:
    lake = make_lake(kind, tmp_path, s3_server)
    manifests = loads(lake)
    audit_path = tmp_path / "audit" / "audit.jsonl"
    config = {
        "lake_url": lake.url,
        "cold_url": lake.cold_url,
        "endpoint": s3_server.endpoint_url if kind == "s3" else None,
        "access_key": TEST_CREDENTIALS.access_key,
        "secret_key": TEST_CREDENTIALS.secret_key,
        "crash_at": crash_at,
        "now": LATER.isoformat(),
        "audit": str(audit_path),
        "audit_key": AUDIT_KEY.hex(),
    }
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN],
        input=json.dumps(config),
        text=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    bronze, cold = data_objects(lake, manifests)
    assert {**cold, **bronze} == expected(manifests)  # nothing lost at the moment of the crash

    audit = AuditTrail(audit_path, AUDIT_KEY, actor="test")
    report = lifecycle.run(lake, older_than_days=30, now=LATER, audit=audit)
    assert report.moves  # the interrupted load (and any not reached) moved now
    bronze, cold = data_objects(lake, manifests)
    assert bronze == {} and cold == expected(manifests)  # every object exactly once, intact
    assert all(load_state(lake, m.source, m.load_id) == "archived" for m in manifests)
    assert verify(lake).ok
    moves = [e for e in read_events(audit_path) if e["action"] == "lifecycle.move"]
    assert {e["target"] for e in moves} == {f"bronze/{m.source}/{m.load_id}" for m in manifests}
    assert audit.verify().ok

    # A further run finds nothing to do; restore brings one load back, verified, and only that one.
    assert lifecycle.run(lake, older_than_days=30, now=LATER).moves == []
    back = lifecycle.restore(lake, manifests[0].load_id, audit=audit)
    assert back.outcome == "restored"
    bronze, cold = data_objects(lake, manifests)
    first = {f"olist/{o.path}": o.sha256 for o in manifests[0].objects}
    assert bronze == first and {**bronze, **cold} == expected(manifests) and not set(bronze) & set(cold)
    assert verify(lake).ok
    assert [e.state for e in journal(lake, "olist", manifests[0].load_id)][-2:] == [
        "restore-copied",
        "restored",
    ]
    # A restored load is kept in bronze by later runs.
    assert lifecycle.run(lake, older_than_days=30, now=LATER).moves == []


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    manifests = loads(lake)
    before = snapshot(lake.layer("bronze")), snapshot(lake.layer("cold"))
    report = lifecycle.run(lake, older_than_days=30, now=LATER, dry_run=True)
    assert [m.outcome for m in report.moves] == ["would archive"] * 3
    assert report.objects == sum(len(m.objects) for m in manifests)
    assert (snapshot(lake.layer("bronze")), snapshot(lake.layer("cold"))) == before

    lifecycle.run(lake, older_than_days=30, now=LATER)
    before = snapshot(lake.layer("bronze")), snapshot(lake.layer("cold"))
    assert lifecycle.restore(lake, manifests[0].load_id, dry_run=True).outcome == "would restore"
    assert (snapshot(lake.layer("bronze")), snapshot(lake.layer("cold"))) == before


def test_only_loads_older_than_the_retention_move(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    loads(lake)
    assert lifecycle.run(lake, older_than_days=30).moves == []
    assert len(lifecycle.run(lake, older_than_days=30, now=LATER).moves) == 3


def test_restore_never_overwrites_a_different_bronze_object(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    manifest = loads(lake)[0]
    lifecycle.run(lake, older_than_days=30, now=LATER)
    lake.bronze("olist").put_if_absent(manifest.objects[0].path, b"something else")
    with pytest.raises(LakeError, match="never overwritten"):
        lifecycle.restore(lake, manifest.load_id)
    assert lake.bronze("olist").read_bytes(manifest.objects[0].path) == b"something else"
    assert verify(lake).ok  # the load is still archived, its cold copies intact


def test_s3_lifecycle_configuration_is_accepted_by_an_s3_server(s3_server: S3Server) -> None:  # noqa: F811
    import boto3

    from tests.ingestion.lake_helpers import s3_lake

    lake = s3_lake(s3_server)
    config = lifecycle.s3_lifecycle_rules(lake, retention_days=90, expiration_days=3650)
    bucket = lake.url.removeprefix("s3://").split("/")[0]
    assert config["Bucket"] == bucket
    (rule,) = config["LifecycleConfiguration"]["Rules"]
    assert rule["Filter"] == {"Prefix": "lake/bronze/"}
    assert rule["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER"}]
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=TEST_CREDENTIALS.access_key,
        aws_secret_access_key=TEST_CREDENTIALS.secret_key,
        region_name="us-east-1",
    )
    client.put_bucket_lifecycle_configuration(**config)
    stored = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert stored[0]["Transitions"][0]["Days"] == 90 and stored[0]["Expiration"]["Days"] == 3650
    xml = lifecycle.s3_lifecycle_xml(config)
    assert "<Prefix>lake/bronze/</Prefix>" in xml and "<StorageClass>GLACIER</StorageClass>" in xml


def test_lifecycle_commands_move_restore_and_audit(tmp_path: Path) -> None:
    from orchestration.services import build_services
    from orchestration.settings import Settings

    home = tmp_path / "home"
    services = build_services(Settings(home=home), actor="test")
    manifest = loads(services.lake)[0]
    runner = CliRunner()
    env = {"COFRE_HOME": str(home)}
    dry = runner.invoke(app, ["run", "--older-than", "0", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "Would move 3 load(s)" in dry.output
    moved = runner.invoke(app, ["run", "--older-than", "0"], env=env)
    assert moved.exit_code == 0, moved.output
    assert "Moved 3 load(s)" in moved.output
    restored = runner.invoke(app, ["restore", manifest.load_id], env=env)
    assert restored.exit_code == 0, restored.output
    assert f"restored: load {manifest.load_id} of olist" in restored.output
    unknown = runner.invoke(app, ["restore", "123.4"], env=env)
    assert unknown.exit_code == 1 and "no load 123.4" in unknown.output
    actions = [e["action"] for e in read_events(Settings(home=home).audit_path)]
    assert actions.count("lifecycle.move") == 4

    s3 = runner.invoke(app, ["s3-config"], env={**env, "COFRE_LAKE_URL": "s3://bucket/lake"})
    assert s3.exit_code == 0, s3.output
    assert json.loads(s3.output)["LifecycleConfiguration"]["Rules"][0]["Filter"]["Prefix"] == "lake/bronze/"


def test_a_load_archived_before_it_reached_raw_must_be_restored_first(tmp_path: Path) -> None:
    import dlt

    from ingestion.pipeline import ingest

    @dlt.source(name="tiny")
    def tiny() -> Any:
        @dlt.resource(primary_key="id", write_disposition="replace")
        def numbers() -> Any:
            yield [{"id": i, "name": f"n{i}"} for i in range(10)]

        return numbers

    lake = Lake(tmp_path / "lake")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the warehouse folder should be")
    with pytest.raises(Exception):  # noqa: B017 - dlt wraps the destination's error
        ingest(
            tiny(),
            lake=lake,
            raw_destination=dlt.destinations.duckdb(str(blocked / "w.duckdb")),
            raw_dataset="raw_tiny",
            pipelines_dir=tmp_path / "dlt",
        )
    (pending,) = lake.manifests("tiny")
    lifecycle.run(lake, older_than_days=30, now=LATER)

    def run() -> Any:
        return ingest(
            tiny(),
            lake=lake,
            raw_destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
            raw_dataset="raw_tiny",
            pipelines_dir=tmp_path / "dlt",
        )

    with pytest.raises(LakeError, match=f"cofre lifecycle restore {pending.load_id}"):
        run()
    lifecycle.restore(lake, pending.load_id)
    report = run()
    assert pending.load_id in report.raw_loads and report.raw_rows == {"numbers": 10}
