"""The state anchor: how far the vault and the audit trail have got, kept outside the state directory.

A vault file and an audit trail can each prove they were not edited, but not that they are the newest:
an older, intact copy of `vault.json` (or a trail cut back to its first line, or deleted with its head)
is authentic too. The anchor is a small JSON file beside the key, outside the state directory, that
remembers the highest vault generation and the last audit event (seq and hash) this state reached:

    {"format": "cofre-anchor/1", "state_id": "<id>", "vault_id": "<vault id>", "vault_generation": 9,
     "audit_seq": 41, "audit_hash": "<sha256 hex of event 41>"}

The vault refuses a document older than `vault_generation` (`VaultRolledBack`), and the audit trail fails
verification (and refuses appends) when it holds fewer events than `audit_seq` or another event at that
seq. Writers advance the anchor after their own file is durable, so a kill in between leaves the anchor
behind, never ahead; readers that find the file ahead (an authentic vault of a higher generation) move
the anchor up. The anchor only ever moves forward.

The anchor is not signed: whoever can write it can read the key file next to it, and such a person is
outside the threat model (docs/security.md). It is checked like a key file (no symlink, owner, 0600).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from security.errors import IntegrityError, VaultReplaced, VaultRolledBack
from security.files import DEFAULT_LOCK_TIMEOUT_S, atomic_write, ensure_private_dir, held, private_lock
from security.keys import check_private_file

ANCHOR_FORMAT = "cofre-anchor/1"


@dataclass(frozen=True)
class AnchorState:
    """What the anchor records; zero and None mean "nothing seen yet"."""

    state_id: str
    vault_id: str | None = None
    vault_generation: int = 0
    audit_seq: int = 0
    audit_hash: str | None = None

    def to_json(self) -> bytes:
        document = {
            "format": ANCHOR_FORMAT,
            "state_id": self.state_id,
            "vault_id": self.vault_id,
            "vault_generation": self.vault_generation,
            "audit_seq": self.audit_seq,
            "audit_hash": self.audit_hash,
        }
        return (json.dumps(document, indent=1) + "\n").encode("ascii")


def _parse(raw: str, path: Path) -> AnchorState:
    try:
        doc: dict[str, Any] = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != ANCHOR_FORMAT:
            raise ValueError("not a cofre-anchor/1 document")
        state = AnchorState(
            state_id=str(doc["state_id"]),
            vault_id=None if doc["vault_id"] is None else str(doc["vault_id"]),
            vault_generation=int(doc["vault_generation"]),
            audit_seq=int(doc["audit_seq"]),
            audit_hash=None if doc["audit_hash"] is None else str(doc["audit_hash"]),
        )
        if state.vault_generation < 0 or state.audit_seq < 0:
            raise ValueError("negative counter")
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"The state anchor {path} is not readable ({exc}). Restore it from its backup, or delete it to "
            "accept the state directory as it is now (that removes the rollback protection until the "
            "next write)."
        ) from None
    return state


class StateAnchor:
    """The anchor file at `path` of the state `state_id`; every change takes its lock."""

    def __init__(self, path: Path, state_id: str, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.state_id = state_id
        self._lock = private_lock(self.path)
        self._lock_timeout_s = lock_timeout_s

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> AnchorState:
        """The recorded state (nothing seen yet if the file does not exist)."""
        try:
            check_private_file(self.path, "state anchor")
            raw = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return AnchorState(state_id=self.state_id)
        state = _parse(raw, self.path)
        if state.state_id != self.state_id:
            raise IntegrityError(
                f"The state anchor {self.path} belongs to state {state.state_id}, not {self.state_id}. "
                "The state directory's id file was replaced; put the right one back."
            )
        return state

    def check_vault(self, vault_path: Path, vault_id: str, generation: int) -> None:
        """Refuse a vault older than the anchor, or another vault; move the anchor up to a newer one."""
        state = self.read()
        if state.vault_id is not None and state.vault_id != vault_id:
            raise VaultReplaced(
                f"{vault_path} is not the vault of this state: the anchor {self.path} records vault "
                f"{state.vault_id} at generation {state.vault_generation}, the file holds vault {vault_id}. "
                "The vault was deleted and re-created, or swapped for another one. Put the right vault.json "
                f"back; if you really mean to start over with a new vault, delete {self.path} first."
            )
        if generation < state.vault_generation:
            raise VaultRolledBack(vault_path, generation, state.vault_generation, self.path)
        if state.vault_id is None or generation > state.vault_generation:
            self.advance_vault(vault_id, generation)

    def create(self) -> None:
        """Write an anchor that has seen nothing yet, unless one exists."""
        ensure_private_dir(self.path.parent)
        with held(self._lock, self._lock_timeout_s):
            if not self.path.exists():
                atomic_write(self.path, AnchorState(state_id=self.state_id).to_json())

    def advance_vault(self, vault_id: str, generation: int) -> None:
        """Record that the vault `vault_id` reached `generation` (never moves backwards)."""

        def change(state: AnchorState) -> AnchorState:
            if state.vault_id not in (None, vault_id):
                return state  # another vault: `check_vault` refuses it, the anchor keeps the first one
            return replace(state, vault_id=vault_id, vault_generation=max(generation, state.vault_generation))

        self._update(change)

    def advance_audit(self, seq: int, hash_: str) -> None:
        """Record that the audit trail reached event `seq` with hash `hash_` (never moves backwards)."""
        self._update(lambda s: replace(s, audit_seq=seq, audit_hash=hash_) if seq > s.audit_seq else s)

    def _update(self, change: Callable[[AnchorState], AnchorState]) -> None:
        ensure_private_dir(self.path.parent)
        with held(self._lock, self._lock_timeout_s):
            current = self.read()
            new = change(current)
            if new != current or not self.path.exists():
                # A replacement lost in a crash leaves the anchor behind, which is safe: no dir fsync.
                atomic_write(self.path, new.to_json(), sync_dir=False)
