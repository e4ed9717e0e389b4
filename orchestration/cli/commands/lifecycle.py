"""`cofre lifecycle ...`: move old bronze loads to the cold layer, bring them back, or hand the policy to
the S3 server. Every move is an audit event (`lifecycle.move`); see docs/lake.md."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.commands.lake import lake_errors, open_lake
from orchestration.cli.errors import reporting_errors
from orchestration.cli.state import state_of

if TYPE_CHECKING:
    from ingestion.lake import S3Options
    from orchestration.settings import Settings

app = typer.Typer(
    help="Move bronze loads older than the retention to cold storage, and restore them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
stdout = Console(highlight=False, soft_wrap=True)
WAIT = typer.Option(False, "--wait", help="If a run holds the state directory, wait for it.")


def _locked(settings: Settings, *, dry_run: bool, wait: bool) -> AbstractContextManager[None]:
    """A move holds the state directory's lock (no run reads bronze while loads move); a dry run
    changes nothing and takes none."""
    from orchestration.lock import state_lock

    return nullcontext() if dry_run else state_lock(settings.home, "cofre lifecycle", wait=wait)


@app.command()
def run(
    ctx: typer.Context,
    older_than: int | None = typer.Option(
        None, "--older-than", min=0, help="Age in days (default: the retention_days setting)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list the loads that would move."),
    include_restored: bool = typer.Option(
        False, "--include-restored", help="Also move loads that were restored from cold."
    ),
    wait: bool = WAIT,
) -> None:
    """Move bronze loads older than the retention to the cold layer (copy, verify, record, delete).

    An interrupted run is finished by the next one; every move is a `lifecycle.move` audit event.
    """
    settings = state_of(ctx).settings()
    days = settings.retention_days if older_than is None else older_than
    from ingestion import lifecycle

    with reporting_errors(), lake_errors(), _locked(settings, dry_run=dry_run, wait=wait):
        lake, audit = open_lake(settings, audited=not dry_run)
        report = lifecycle.run(
            lake, older_than_days=days, dry_run=dry_run, audit=audit, include_restored=include_restored
        )
    table = Table("source", "load id", "created (UTC)", "objects", "bytes", "outcome")
    for move in report.moves:
        table.add_row(
            move.source,
            move.load_id,
            move.created_at[:19].replace("T", " "),
            str(move.objects),
            str(move.bytes),
            move.outcome,
        )
    if report.moves:
        stdout.print(table)
    verb = "Would move" if dry_run else "Moved"
    stdout.print(
        f"{verb} {len(report.moves)} load(s) older than {days} days, {report.objects} objects "
        f"({report.bytes} bytes), to {lake.cold_url}"
    )


@app.command()
def restore(
    ctx: typer.Context,
    load_id: str = typer.Argument(
        ..., metavar="LOAD_ID", help="The load to bring back (see `cofre lake info`)."
    ),
    source: str | None = typer.Option(None, "--source", help="The load's source, if ambiguous."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be restored."),
    wait: bool = WAIT,
) -> None:
    """Bring an archived load back from the cold layer into bronze, verified against its manifest."""
    settings = state_of(ctx).settings()
    from ingestion import lifecycle

    with reporting_errors(), lake_errors(), _locked(settings, dry_run=dry_run, wait=wait):
        lake, audit = open_lake(settings, audited=not dry_run)
        move = lifecycle.restore(lake, load_id, source=source, dry_run=dry_run, audit=audit)
    stdout.print(f"{move.outcome}: load {move.load_id} of {move.source}, {move.objects} objects")


@app.command("s3-config")
def s3_config(
    ctx: typer.Context,
    output: str = typer.Option("json", "--format", help="json (boto3, mc) or xml (S3 API body)."),
    storage_class: str = typer.Option(
        "GLACIER", "--storage-class", help="Transition target: an S3 class or a MinIO remote tier name."
    ),
    expiration_days: int | None = typer.Option(
        None, "--expiration-days", help="Also delete objects this many days old (no cold copy is kept)."
    ),
) -> None:
    """Print the equivalent S3 bucket lifecycle configuration, for servers that should do the moving.

    It is not equivalent in guarantees: read its limits in docs/lake.md before using it.
    """
    if output not in ("json", "xml"):
        raise typer.BadParameter("use json or xml", param_hint="--format")
    settings = state_of(ctx).settings()
    from ingestion.lake import Lake
    from ingestion.lifecycle import s3_lifecycle_rules, s3_lifecycle_xml, to_json

    with lake_errors():
        lake = Lake.from_url(settings.lake_location, cold_url=settings.cold_url, s3=_no_credentials())
        config = s3_lifecycle_rules(
            lake,
            retention_days=settings.retention_days,
            storage_class=storage_class or None,
            expiration_days=expiration_days,
        )
    typer.echo(s3_lifecycle_xml(config) if output == "xml" else to_json(config))


def _no_credentials() -> S3Options:
    """The configuration names only the bucket and prefix: no credential is read to print it."""
    from ingestion.errors import LakeError
    from ingestion.lake import S3Credentials, S3Options

    def refuse() -> S3Credentials:
        raise LakeError("printing the lifecycle configuration needs no credentials")

    return S3Options(credentials=refuse)
