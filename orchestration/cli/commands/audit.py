"""`cofre audit ...`: verify the tamper-evident audit trail and show its recent events."""

from __future__ import annotations

import json

import typer

from orchestration.cli.commands.vault import open_audited, stdout
from orchestration.cli.errors import reporting_errors, stderr
from orchestration.cli.state import state_of
from security.audit import tail_events

app = typer.Typer(
    help="Inspect and verify the tamper-evident audit trail.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.command()
def verify(ctx: typer.Context) -> None:
    """Check every event's chain and MAC and the head checkpoint; exit 1 at the first bad event.

    Verifying does not append to the trail, so it can be run as often as wanted on the evidence.
    """
    settings = state_of(ctx).settings(existing=True)
    with reporting_errors():
        _, trail = open_audited(settings, actor="cli")
        report = trail.verify()
    if report.ok:
        stdout.print(f"Audit trail OK: {report.events} events, chain and head checkpoint intact.")
        if report.note:
            stdout.print(f"note: {report.note}")
        return
    where = f"line {report.line}" if report.line is not None else "head checkpoint"
    seq = f" (seq {report.seq})" if report.seq is not None else ""
    stderr.print(
        f"[red]Audit trail TAMPERED[/red] at {where}{seq}: {report.reason}. "
        f"{report.events} events before it verify.",
        markup=True,
        soft_wrap=True,
    )
    raise typer.Exit(1)


@app.command()
def tail(
    ctx: typer.Context,
    lines: int = typer.Option(20, "--lines", "-n", min=1, help="How many recent events to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the raw JSON lines (for jq)."),
) -> None:
    """Show the most recent events (not verified: run `cofre audit verify` to trust them)."""
    settings = state_of(ctx).settings(existing=True)
    events = tail_events(settings.audit_path, lines)
    if as_json:
        for event in events:
            typer.echo(json.dumps(event, ensure_ascii=False))
        return
    if not events:
        stdout.print("The audit trail is empty.")
        return
    for event in events:
        details = json.dumps(event["details"], ensure_ascii=False) if event["details"] else ""
        stdout.print(
            f"{event['seq']:>6}  {str(event['time'])[:19].replace('T', ' ')}  {event['outcome']:<8} "
            f"{event['action']:<16} {event['target']}  by {event['actor']}  {details}".rstrip(),
            soft_wrap=True,
            markup=False,
        )
