"""`cofre dbt <any dbt args>`: the analytics engineer's loop, on every target, with no secret in the shell.

dbt runs in transform/ as cofre's own dbt steps run it (`orchestration.warehouse.dbt.run_dbt`): its
environment is allow-listed (`security.child_env`) and holds the secrets it needs (the masking key; on
PostgreSQL the password and the PGOPTIONS of `cofre.masking_key`), read from the audited vault at this
moment; they exist only in dbt's process, never in the caller's shell. Artifacts and logs go under the
state directory (`<home>/dbt/target`, `<home>/dbt/logs`) and every line dbt prints is redacted.

    cofre dbt build --select stg_olist__orders+
    cofre dbt build --target postgres
    cofre dbt docs generate

The target is dbt's `--target`/`-t` when given, else COFRE_TARGET (default duckdb). Without a dbt
sub-command (`cofre dbt --version`) dbt runs as is, with no secret at all. cofre's global options
(`--home`, `--debug`) are cofre's, wherever they are given; every other argument is dbt's.
"""

from __future__ import annotations

import subprocess

import typer
from rich.console import Console

from orchestration.cli.state import state_of

console = Console(highlight=False)
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
"""Every argument goes to dbt, `--help` included."""


def target_of(args: list[str]) -> str | None:
    """The value of dbt's `--target`/`-t` in `args`, None when absent."""
    for position, arg in enumerate(args):
        if arg in ("--target", "-t") and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None


def dbt(ctx: typer.Context) -> None:
    """Run dbt in transform/ with this state's warehouse and secrets (`cofre dbt build`, `cofre dbt docs
    generate`, `cofre dbt build --target postgres`, any dbt arguments)."""
    args = list(ctx.args)
    from orchestration.environment import prepare_process
    from orchestration.warehouse.dbt_project import TRANSFORM_DIR, dbt_executable
    from security.child_env import child_environment

    if not args or args[0].startswith("-"):  # `--version`, `--help`: no project, no secret
        done = subprocess.run([dbt_executable(), *args], cwd=TRANSFORM_DIR, env=child_environment("dbt"))
        raise typer.Exit(done.returncode)
    settings = state_of(ctx).settings(target=target_of(args), existing=True)  # a bad target: exit 2
    prepare_process(settings)
    from orchestration.cli.errors import reporting_errors
    from orchestration.services import open_audited
    from orchestration.warehouse.dbt import run_dbt

    with reporting_errors():
        vault, _audit = open_audited(settings, actor="cli")
    ran = run_dbt(args, settings, vault, on_line=lambda line: console.print(line, markup=False))
    if not ran.success:
        raise typer.Exit(ran.returncode or 1)
