"""`cofre lake ...`: inspect and verify the medallion lake (local folder or S3).

On S3 the lake's access key pair is read from the vault (each read an audit event) when the first
request is made, and every secret value of the vault is redacted from the logs before that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.errors import reporting_errors
from orchestration.cli.state import state_of
from orchestration.settings import Settings

if TYPE_CHECKING:
    from ingestion.lake import Lake
    from security.audit import AuditTrail

app = typer.Typer(
    help="Inspect and verify the lake (bronze, silver, gold, cold).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def open_lake(settings: Settings, *, audited: bool) -> tuple[Lake, AuditTrail | None]:
    """The lake of these settings and, when the vault exists (or is needed), the audit trail.

    A local lake needs no credential, so `lake verify` works before any vault exists; an S3 lake, or a
    command that must record audit events (`audited`), opens the vault.
    """
    from ingestion.lake import Lake
    from orchestration.services import build_lake, open_audited
    from security.redaction import install_redaction

    on_s3 = settings.lake_location.startswith("s3://")
    if not (on_s3 or audited or settings.vault_path.exists()):
        return Lake.from_url(settings.lake_location, cold_url=settings.cold_url), None
    vault, audit = open_audited(settings, actor="cli")
    install_redaction(vault.secret_values())
    return build_lake(settings, vault), audit


@app.command()
def info(ctx: typer.Context) -> None:
    """Where the lake and its cold layer are, and the bronze loads of each source."""
    settings = state_of(ctx).settings()
    from ingestion.lake import load_state

    with reporting_errors(), lake_errors():
        lake, _ = open_lake(settings, audited=False)
        stdout.print(f"lake: {lake.url}\ncold: {lake.cold_url}\nretention: {settings.retention_days} days")
        table = Table("source", "load id", "created (UTC)", "objects", "bytes", "where")
        for source in lake.sources():
            for manifest in lake.manifests(source):
                state = load_state(lake, source, manifest.load_id)
                where = "cold" if state in ("archived", "restore-copied") else "bronze"
                table.add_row(
                    source,
                    manifest.load_id,
                    manifest.created_at[:19].replace("T", " "),
                    str(len(manifest.objects)),
                    str(manifest.bytes),
                    where,
                )
        stdout.print(table)


@app.command()
def verify(
    ctx: typer.Context,
    source: str | None = typer.Option(None, "--source", help="Only this source (default: every source)."),
) -> None:
    """Re-check every bronze object (or its cold copy) against its manifest.

    Reports every object missing or altered (size or SHA-256) and exits 1 if there is any.
    """
    settings = state_of(ctx).settings()
    from ingestion.lake import verify as verify_lake

    with reporting_errors(), lake_errors():
        lake, audit = open_lake(settings, audited=False)
        report = verify_lake(lake, source)
        if audit is not None:
            audit.record(
                "lake.verify",
                target=lake.url,
                outcome="success" if report.ok else "failure",
                details={"loads": report.loads, "objects": report.objects, "problems": len(report.problems)},
            )
    for problem in report.problems:
        stderr.print(f"{problem.problem}: {problem.url} (load {problem.load_id} of {problem.source})")
    summary = f"{report.loads} load(s), {report.objects} objects checked against their manifests"
    if not report.ok:
        stderr.print(f"Lake NOT OK: {len(report.problems)} problem(s) in {summary}")
        raise typer.Exit(1)
    stdout.print(f"Lake OK: {summary}")


@contextmanager
def lake_errors() -> Iterator[None]:
    """Show a lake error's message (it says what to do) and exit 1, without a traceback."""
    from ingestion.errors import LakeError

    try:
        yield
    except LakeError as exc:
        stderr.print(f"error: {exc}")
        raise typer.Exit(1) from None
