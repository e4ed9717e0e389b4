"""What the `cofre` CLI callback hands to every sub-command: the edge where settings are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from orchestration.settings import Settings


@dataclass
class CliState:
    """Global options given before the sub-command (`cofre --home DIR vault list`)."""

    home: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    vault_key: str | None = None
    """COFRE_VAULT_KEY, taken out of the process environment by `main` (environment.take_master_key)."""

    def settings(self, **overrides: Any) -> Settings:
        """Build the one Settings object: COFRE_* environment, then global options, then command options."""
        given = {"home": self.home, "vault_key": self.vault_key, **self.overrides, **overrides}
        values = {k: v for k, v in given.items() if v is not None}
        return Settings(**values)


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):  # a sub-app invoked on its own, as in its tests
        state = CliState()
        ctx.find_root().obj = state
    return state
