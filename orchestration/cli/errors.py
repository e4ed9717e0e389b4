"""How the CLI shows an error the user can act on: one or two lines saying what was wrong and what is
valid, and no traceback (`--debug` shows it). Security errors exit 1; bad invocations exit 2."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console

from orchestration.errors import UserError
from orchestration.settings import Settings
from security.errors import CofreSecurityError

stderr = Console(stderr=True, highlight=False)

OPTIONS = {
    "home": "--home",
    "target": "--target",
    "scale": "--scale",
    "seed": "--seed",
    "olist_dir": "--olist-dir",
    "api_mode": "--api-mode",
    "lake_url": "--lake",
}
"""Settings given on the command line, by the option that sets them."""
BOUNDS = (("gt", "greater than"), ("ge", "at least"), ("lt", "less than"), ("le", "at most"))


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Show a security error's message and exit 1, without a traceback."""
    try:
        yield
    except CofreSecurityError as exc:
        stderr.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
        raise typer.Exit(1) from None


def invalid_settings(error: ValidationError, *, given: set[str]) -> UserError:
    """A UserError naming each invalid setting as the user gave it (`--scale`, or `COFRE_PG_PORT` from
    the environment), the value, what is wrong and the valid values."""
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        where = OPTIONS[name] if name in given and name in OPTIONS else f"COFRE_{name.upper()}"
        if problem["type"] == "extra_forbidden":
            lines.append(f"{where} is not a setting of cofre")
            continue
        reason = str(problem["msg"]).removeprefix("Input should be ").removeprefix("Value error, ")
        lines.append(f"{where} {problem['input']!r} is not valid: it should be {reason}")
        valid = valid_values(name)
        if valid:
            lines.append(f"  valid values of {where}: {valid}")
    return UserError("\n".join(lines))


def valid_values(name: str) -> str:
    """The values a setting accepts, in words, from its declaration."""
    field = Settings.model_fields.get(name)
    if field is None:
        return ""
    annotation: Any = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return ", ".join(str(choice) for choice in typing.get_args(annotation))
    kind = {int: "a whole number", float: "a number"}.get(annotation, "")
    bounds = []
    for constraint in field.metadata:
        for attribute, words in BOUNDS:
            bound = getattr(constraint, attribute, None)
            if bound is not None:
                bounds.append(f"{words} {bound:g}")
    return " ".join(part for part in (kind, " and ".join(bounds)) if part)
