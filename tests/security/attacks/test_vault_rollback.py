"""Item 3 of issue 14: replacing vault.json with an older, intact copy of itself."""

from __future__ import annotations

import json
import re

import pytest

from security.audit import AuditTrail, read_events
from security.errors import CofreSecurityError, VaultReplaced, VaultRolledBack
from security.keys import decode_b64
from security.secret_names import AUDIT_HMAC_KEY
from security.vault import Vault
from tests.security.attacks.conftest import StateCopy


def test_older_copy_of_vault_json_is_refused_and_audited(state: StateCopy) -> None:
    opened = state.open()
    old_vault = state.vault_path.read_bytes()  # the copy an attacker (or a careless restore) keeps
    old_generation = json.loads(old_vault)["generation"]
    weather_key = opened.vault.get("openweather_api_key")
    opened.vault.set("pg_password", "the-new-password-" + weather_key)
    opened.vault.delete("openweather_api_key")  # revoked: it must never be served again
    new_generation = json.loads(state.vault_path.read_bytes())["generation"]

    state.vault_path.write_bytes(old_vault)  # the attack

    # The old file is authentic on its own: without the anchor it opens and serves the deleted secret.
    alone = Vault(state.vault_path, key_file=opened.layout.key_file)
    assert alone.verify().entries > 0 and alone.get("openweather_api_key") == weather_key

    with pytest.raises(VaultRolledBack) as caught:
        state.open()
    error = caught.value
    assert isinstance(error, CofreSecurityError)
    assert (error.generation, error.anchored) == (old_generation, new_generation)
    message = str(error)
    assert f"generation {old_generation}" in message and f"generation {new_generation}" in message
    assert "older copy" in message and str(opened.layout.anchor_path) in message
    assert "put the newest vault.json back" in message  # what to do
    # A process that already had the vault open refuses too, at its next read.
    with pytest.raises(VaultRolledBack):
        opened.vault.get("pg_password")

    last = list(read_events(state.audit_path))[-1]
    assert last["action"] == "vault.rollback_refused" and last["outcome"] == "refused"
    assert last["target"] == str(state.vault_path)
    assert last["details"] == {"generation": old_generation, "anchored_generation": new_generation}
    trail = AuditTrail(
        state.audit_path, decode_b64(alone.get(AUDIT_HMAC_KEY)), actor="verifier", anchor=opened.anchor
    )
    assert trail.verify().ok


def test_deleted_vault_is_not_silently_recreated(state: StateCopy) -> None:
    """The embedded default creates a vault on first run; deleting it must not start a fresh one (new
    secrets, new audit key) as if this state had never had a vault."""
    opened = state.open()
    key_before = opened.layout.key_file.read_bytes()
    state.vault_path.unlink()  # the attack

    with pytest.raises(VaultReplaced, match=re.escape("was deleted. Restore vault.json from a backup")):
        state.open(create=True)
    assert not state.vault_path.exists()
    assert opened.layout.key_file.read_bytes() == key_before


def test_restoring_a_backup_on_purpose_is_accepted_and_recorded(state: StateCopy) -> None:
    """The way out the error names: delete the anchor, and the next open records that it did."""
    opened = state.open()
    backup = state.vault_path.read_bytes()
    opened.vault.set("pg_password", "changed-after-the-backup")
    state.vault_path.write_bytes(backup)
    with pytest.raises(VaultRolledBack):
        state.open()

    opened.layout.anchor_path.unlink()
    reopened = state.open()
    assert reopened.events == ("state.anchor_created",)
    assert reopened.vault.get("pg_password") != "changed-after-the-backup"
    assert [e["action"] for e in read_events(state.audit_path)][-2:] == [
        "state.anchor_created",
        "secret.read",
    ]
