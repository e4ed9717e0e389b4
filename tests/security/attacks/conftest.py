"""The attack suite's state: a real state directory built once by the security modules themselves
(vault, key file and anchor outside it, audit trail), and a fresh copy of it for each attack.

Nothing here reads the real home: the per-user config directory (where the key file and the anchor live)
is a temporary directory, given to `open_state` explicitly and exported as XDG_CONFIG_HOME for children.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from security.state import OpenedState, open_state

ACTOR = "attacks:tester@host"


@dataclass(frozen=True)
class StateCopy:
    """A state directory and the per-user config directory that holds its key file and anchor."""

    home: Path
    config_home: Path

    def open(self, **kwargs: Any) -> OpenedState:
        return open_state(self.home, config_home=self.config_home, actor=ACTOR, **kwargs)

    @property
    def vault_path(self) -> Path:
        return self.home / "vault" / "vault.json"

    @property
    def audit_path(self) -> Path:
        return self.home / "audit" / "audit.jsonl"

    @property
    def head_path(self) -> Path:
        return self.home / "audit" / "audit.head.json"

    def copy_to(self, root: Path) -> StateCopy:
        """Copy both directories (modes kept) under `root`."""
        copy = StateCopy(home=root / "state", config_home=root / "config")
        shutil.copytree(self.home, copy.home, symlinks=True)
        shutil.copytree(self.config_home, copy.config_home, symlinks=True)
        return copy


def build_state(home: Path, config_home: Path) -> StateCopy:
    """What a first run leaves: the vault with the embedded secrets and two user secrets, lake writes and
    secret reads in the audit trail."""
    state = open_state(home, config_home=config_home, actor=ACTOR, create=True)
    assert state.audit is not None
    state.vault.set("pg_password", secrets.token_urlsafe(18))
    state.vault.set("openweather_api_key", secrets.token_hex(16))
    for part in range(1, 6):
        state.audit.record("lake.write", target=f"bronze/orders/part-{part}.parquet", details={"rows": part})
    state.vault.get("pg_password")  # a secret.read event
    return StateCopy(home=home, config_home=config_home)


@pytest.fixture(scope="session")
def state_template(tmp_path_factory: pytest.TempPathFactory) -> StateCopy:
    root = tmp_path_factory.mktemp("attack-template")
    return build_state(root / "state", root / "config")


@pytest.fixture
def state(state_template: StateCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateCopy:
    """A fresh copy of the template state for one attack."""
    copy = state_template.copy_to(tmp_path / "copy")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(copy.config_home))
    return copy
