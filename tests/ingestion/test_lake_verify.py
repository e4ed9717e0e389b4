"""`verify` re-checks every bronze object against its manifest, on a local folder and on S3."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestion.lake import verify
from orchestration.cli.commands.lake import app
from tests.fakes.s3_server import S3Server, s3_server  # noqa: F401 (fixture)
from tests.ingestion.lake_helpers import make_lake, make_load

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_verify_catches_a_deleted_and_an_altered_object(
    kind: str,
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
) -> None:
    lake = make_lake(kind, tmp_path, s3_server)
    first = make_load(lake, "olist", "1600000000.1")
    make_load(lake, "bcb", "1600000001.2", tables=("ipca",))
    clean = verify(lake)
    assert clean.ok and clean.loads == 2 and clean.objects == 6

    store = lake.bronze("olist")
    deleted, altered = first.objects[0].path, first.objects[1].path
    store.delete(deleted)
    data = bytearray(store.read_bytes(altered))
    data[-20] ^= 0xFF  # same size, other bytes
    store.delete(altered)  # the lake's own API never overwrites; simulate tampering underneath it
    store.put_if_absent(altered, bytes(data))

    report = verify(lake)
    found = {(p.url.rsplit("/olist/", 1)[-1], p.problem.split(":")[0]) for p in report.problems}
    assert found == {(deleted, "missing"), (altered, "altered")}
    assert verify(lake, source="bcb").ok


def test_lake_verify_command_reports_and_fails(tmp_path: Path) -> None:
    home = tmp_path / "home"
    from ingestion.lake import Lake

    lake = Lake(home / "lake")
    manifest = make_load(lake, "olist", "1600000000.1")
    runner = CliRunner()
    ok = runner.invoke(app, ["verify"], env={"COFRE_HOME": str(home)})
    assert ok.exit_code == 0, ok.output
    assert "1 load" in ok.output and "4 objects" in ok.output
    info = runner.invoke(app, ["info"], env={"COFRE_HOME": str(home)})
    assert info.exit_code == 0, info.output
    assert manifest.load_id in info.output and "bronze" in info.output

    (lake.bronze_dir("olist") / manifest.objects[0].path).unlink()
    bad = runner.invoke(app, ["verify"], env={"COFRE_HOME": str(home)})
    assert bad.exit_code == 1
    assert "missing" in bad.output and manifest.objects[0].path in bad.output


def test_lake_verify_command_on_s3_reads_the_key_pair_from_the_vault(
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
    capfd: pytest.CaptureFixture[str],
) -> None:
    from orchestration.services import build_services
    from orchestration.settings import Settings
    from security.audit import read_events
    from security.secret_names import LAKE_ACCESS_KEY, LAKE_SECRET_KEY

    home = tmp_path / "home"
    env = {
        "COFRE_HOME": str(home),
        "COFRE_LAKE_URL": "s3://cofre-verify/lake",
        "COFRE_S3_ENDPOINT_URL": s3_server.endpoint_url,
    }
    settings = Settings(home=home, lake_url=env["COFRE_LAKE_URL"], s3_endpoint_url=s3_server.endpoint_url)
    services = build_services(settings, actor="test")
    secret = services.vault.get(LAKE_SECRET_KEY)
    s3_server.create_bucket(services.vault.get(LAKE_ACCESS_KEY), secret, "cofre-verify")
    make_load(services.lake, "olist", "1600000000.1")

    result = CliRunner().invoke(app, ["verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "Lake OK: 1 load(s), 4 objects" in result.output
    events = list(read_events(settings.audit_path))
    assert [e["outcome"] for e in events if e["action"] == "lake.verify"] == ["success"]
    assert secret not in result.output and secret not in "".join(capfd.readouterr())
    assert all(secret.encode() not in p.read_bytes() for p in home.rglob("*") if p.is_file())
