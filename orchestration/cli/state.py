"""What the `cofre` CLI hands to every sub-command: the edge where settings are read.

The global options (`--home`, `--debug`) are added to every group and command of the app
(`add_global_options`), so they work before or after any sub-command (`cofre --home DIR vault list`,
`cofre vault list --home DIR`, `cofre vault --home DIR list`). Given twice with different values, the
command stops: a state directory is never guessed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from orchestration.cli.errors import invalid_settings
from orchestration.errors import UserError
from orchestration.settings import Settings

HOME_HELP = "State directory (default ./.cofre, or COFRE_HOME); accepted before or after any command."
DEBUG_HELP = "Show the full traceback of an error (also written to the log)."


@dataclass
class CliState:
    """Global options, wherever they were given on the command line."""

    home: Path | None = None
    debug: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    vault_key: str | None = None
    """COFRE_VAULT_KEY, taken out of the process environment by `main` (environment.take_master_key)."""

    def set_home(self, home: Path) -> None:
        home = home.expanduser().resolve()
        if self.home is not None and self.home != home:
            raise ValueError(f"given twice, as {self.home} and as {home}: give it once")
        self.home = home

    def settings(self, *, existing: bool = False, **overrides: Any) -> Settings:
        """Build the one Settings object: COFRE_* environment, then global options, then command options.

        existing: the command reads a state directory that must already be there (a vault, an audit
        trail); a missing one is an error naming it, never created empty.
        """
        given = {"home": self.home, "vault_key": self.vault_key, **self.overrides, **overrides}
        values = {k: v for k, v in given.items() if v is not None}
        try:
            settings = Settings(**values)
        except ValidationError as error:
            raise invalid_settings(error, given=set(values) - {"vault_key"}) from None
        if existing and not settings.home.is_dir():
            source = (
                "--home"
                if "home" in values
                else "COFRE_HOME"
                if "COFRE_HOME" in os.environ
                else "the default"
            )
            raise UserError(
                f"no state directory at {settings.home} ({source}): give the right one with --home DIR "
                "or COFRE_HOME (`cofre run` creates one)"
            )
        return settings


def state_of(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):  # a sub-app invoked on its own, as in its tests
        root.obj = CliState()
    return root.obj


def _home_callback(ctx: typer.Context, value: Path | None) -> None:
    if value is not None:
        try:
            state_of(ctx).set_home(value)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--home") from None


def _debug_callback(ctx: typer.Context, value: bool) -> None:
    if value:
        state_of(ctx).debug = True


_global = typer.Typer(add_completion=False)


@_global.command()
def _global_options(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help=HOME_HELP,
            callback=_home_callback,
            expose_value=False,
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help=DEBUG_HELP, callback=_debug_callback, expose_value=False)
    ] = False,
) -> None:
    """Declares the global options once, the Typer way; their parameters are copied onto every command."""


def add_global_options(command: Any) -> Any:
    """Give `command` (the app's click command) and every sub-command the global options."""
    options = typer.main.get_command(_global).params
    for node in _walk(command):
        names = {name for param in node.params for name in getattr(param, "opts", ())}
        node.params.extend(option for option in options if option.opts[0] not in names)
    return command


def _walk(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)
