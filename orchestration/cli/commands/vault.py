"""`cofre vault ...`: manage the encrypted vault of credentials.

This is the edge where the settings (state directory, COFRE_VAULT_KEY) become a Vault, and where every
change is recorded in the audit trail. Values travel only through stdin (`set`) and stdout (`get`):
never through arguments, which other users can read in the process list and shell history.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.errors import reporting_errors, stderr
from orchestration.cli.state import state_of
from security.bootstrap import EMBEDDED_SECRETS
from security.errors import CofreSecurityError, VaultAlreadyExists
from security.vault import Vault

if TYPE_CHECKING:
    from orchestration.settings import Settings
    from security.audit import AuditTrail
    from security.state import OpenedState


def open_audited(settings: Settings, *, actor: str) -> tuple[Vault, AuditTrail]:
    """orchestration.services.open_audited, imported when used (it imports the lake: pyarrow)."""
    from orchestration import services

    return services.open_audited(settings, actor=actor)


def open_vault(settings: Settings) -> Vault:
    from orchestration import services

    return services.open_vault(settings)


def vault_key(settings: Settings) -> str | None:
    from orchestration import services

    return services.vault_key(settings)


def open_cofre_state(settings: Settings, *, actor: str, create: bool = False) -> OpenedState:
    from orchestration import services

    return services.open_cofre_state(settings, actor=actor, create=create)


app = typer.Typer(
    help="Manage the encrypted vault of credentials.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
stdout = Console(highlight=False)


def _read_value(name: str) -> str:
    """The value from stdin: piped (one trailing newline dropped) or typed at a hidden prompt."""
    if sys.stdin.isatty():
        value: str = typer.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read()
        value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        stderr.print(
            'error: empty value; pipe the value on stdin, e.g. `printf %s "$VALUE" | cofre vault set NAME`'
        )
        raise typer.Exit(1)
    return value


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the vault, its 0600 key file (unless COFRE_VAULT_KEY is set) and the generated secrets."""
    settings = state_of(ctx).settings()
    key = vault_key(settings)
    with reporting_errors():
        if settings.vault_path.exists():
            raise VaultAlreadyExists(settings.vault_path)
        state = open_cofre_state(settings, actor="cli", create=True)
        vault, trail = state.vault, state.audit
        assert trail is not None  # create=True generated the audit trail's key
        created = [name for name in EMBEDDED_SECRETS if name in vault]
        trail.record(
            "vault.init",
            target=str(settings.vault_path),
            details={"generated": created, "key_source": "COFRE_VAULT_KEY" if key else "key_file"},
        )
    stdout.print(f"Created the vault {settings.vault_path}")
    if key is None:
        stdout.print(
            f"Created the key file {state.layout.key_file} (mode 0600), outside the state directory. Back it "
            "up apart from the vault: without it no secret can be read."
        )
    stdout.print(f"Generated: {', '.join(created)}")


@app.command("set")
def set_secret(
    ctx: typer.Context, name: str = typer.Argument(..., metavar="NAME", help="Entry name, e.g. pg_password.")
) -> None:
    """Store a secret read from stdin (never from the command line): `... | cofre vault set NAME`."""
    value = _read_value(name)
    with reporting_errors():
        vault, trail = open_audited(state_of(ctx).settings(), actor="cli")
        replaced = name in vault
        vault.set(name, value)
        trail.record("secret.write", target=name, details={"replaced": replaced})
    stdout.print(f"{'Replaced' if replaced else 'Stored'} {name}")


@app.command()
def get(ctx: typer.Context, name: str = typer.Argument(..., metavar="NAME", help="Entry name.")) -> None:
    """Print a secret's value on stdout, for piping into the program that needs it.

    Only the value is written (no trailing newline unless stdout is a terminal), and the read is
    recorded in the audit trail.
    """
    with reporting_errors():
        vault, _trail = open_audited(state_of(ctx).settings(existing=True), actor="cli")
        value = vault.get(name)
    if sys.stdout.isatty():
        stderr.print("warning: the value is shown on your terminal; prefer piping it to its consumer")
    typer.echo(value, nl=sys.stdout.isatty())


@app.command("list")
def list_entries(ctx: typer.Context) -> None:
    """Show entry names, key versions and update times (never values)."""
    with reporting_errors():
        entries = open_vault(state_of(ctx).settings()).entries()
    if not entries:
        stdout.print("The vault is empty.")
        return
    table = Table("name", "key version", "updated (UTC)")
    for entry in entries:
        table.add_row(entry.name, str(entry.key_version), entry.updated[:19].replace("T", " "))
    stdout.print(table)


@app.command()
def delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Entry name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    force: bool = typer.Option(
        False, "--force", help="Allow deleting a secret cofre generated and relies on."
    ),
) -> None:
    """Delete a secret."""
    if name in EMBEDDED_SECRETS and not force:
        stderr.print(
            f"error: {name} is generated by cofre and still needed (deleting the masking key changes every "
            "token; deleting the audit key makes the trail unverifiable). Use --force if you mean it."
        )
        raise typer.Exit(1)
    if not yes:
        typer.confirm(f"Delete {name} from the vault?", abort=True)
    with reporting_errors():
        vault, trail = open_audited(state_of(ctx).settings(), actor="cli")
        vault.delete(name)
        trail.record("secret.delete", target=name)
    stdout.print(f"Deleted {name}")


@app.command()
def rotate(
    ctx: typer.Context,
    wait: bool = typer.Option(False, "--wait", help="If a run holds the state directory, wait for it."),
) -> None:
    """Re-encrypt every entry under a new key version, then retire the old key (see the runbook).

    Holds the state directory's lock: no run reads the vault while it is re-encrypted."""
    settings = state_of(ctx).settings(existing=True)
    from orchestration.lock import state_lock

    with reporting_errors(), state_lock(settings.home, "cofre vault rotate", wait=wait):
        state = open_cofre_state(settings, actor="cli")
        vault, trail = state.vault, state.audit
        assert trail is not None
        try:
            report = vault.rotate(on_step=lambda step: stdout.print(f"  {step.replace('_', ' ')}"))
        except CofreSecurityError as exc:
            trail.record(
                "vault.rotate",
                target=str(vault.path),
                outcome="failure",
                details={"error": type(exc).__name__},
            )
            raise
        trail.record(
            "vault.rotate",
            target=str(vault.path),
            details={
                "old_version": report.old_version,
                "new_version": report.new_version,
                "entries": report.entries,
            },
        )
    stdout.print(
        f"Rotated {report.entries} entries from key version {report.old_version} to {report.new_version}; "
        f"the old key is retired. Back up the new key file {state.layout.key_file} now."
    )


@app.command()
def verify(ctx: typer.Context) -> None:
    """Check the key, the vault's integrity and that every entry decrypts; exit 1 on any failure."""
    with reporting_errors():
        vault, trail = open_audited(state_of(ctx).settings(), actor="cli")
        report = vault.verify()
        trail.record("vault.verify", target=str(vault.path), details={"entries": report.entries})
    stdout.print(f"Vault OK: {report.entries} entries, key version {report.key_version}")
    if report.warning:
        stderr.print(f"[yellow]warning:[/yellow] {report.warning}", markup=True, soft_wrap=True)


@app.command("purge-keys")
def purge_keys(ctx: typer.Context) -> None:
    """Remove retired key versions from the key file (after a rotation), once no backup needs them."""
    with reporting_errors():
        state = open_cofre_state(state_of(ctx).settings(), actor="cli")
        assert state.audit is not None
        removed = state.vault.purge_retired_keys()
        state.audit.record(
            "vault.keys_purged", target=str(state.layout.key_file), details={"versions": list(removed)}
        )
    if removed:
        stdout.print(f"Purged retired key version(s) {', '.join(map(str, removed))}")
    else:
        stdout.print("No retired key version to purge.")
