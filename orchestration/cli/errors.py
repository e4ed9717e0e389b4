"""How the CLI shows an error the user can act on: its message (which says what to do), exit 1, no
traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from security.errors import CofreSecurityError

stderr = Console(stderr=True, highlight=False)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Show a security error's message and exit 1, without a traceback."""
    try:
        yield
    except CofreSecurityError as exc:
        stderr.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
        raise typer.Exit(1) from None
