"""The Airflow secrets backend opened on a state directory checks the anchor like the CLI does."""

from __future__ import annotations

import pytest

from security.audit import read_events
from security.errors import VaultRolledBack
from tests.security.attacks.conftest import StateCopy


def test_backend_refuses_a_rolled_back_vault(state: StateCopy) -> None:
    from security.airflow_backend import CofreVaultSecretsBackend

    opened = state.open()
    opened.vault.set("airflow_var_lake_bucket", "cofre-lake-v1")
    old_vault = state.vault_path.read_bytes()
    opened.vault.set("airflow_var_lake_bucket", "cofre-lake-v2")

    def backend() -> CofreVaultSecretsBackend:
        return CofreVaultSecretsBackend(state_dir=str(state.home), config_home=str(state.config_home))

    assert backend().get_variable("lake_bucket") == "cofre-lake-v2"
    last = list(read_events(state.audit_path))[-1]
    read = ("airflow", "secret.read", "airflow_var_lake_bucket")
    assert (last["actor"], last["action"], last["target"]) == read

    state.vault_path.write_bytes(old_vault)  # the attack
    with pytest.raises(VaultRolledBack):
        backend().get_variable("lake_bucket")
    assert list(read_events(state.audit_path))[-1]["action"] == "vault.rollback_refused"


def test_backend_needs_one_way_to_the_vault() -> None:
    from security.airflow_backend import CofreVaultSecretsBackend

    with pytest.raises(ValueError, match="either state_dir or vault_path"):
        CofreVaultSecretsBackend()
    with pytest.raises(ValueError, match="vault_path needs key_file"):
        CofreVaultSecretsBackend(vault_path="/state/vault/vault.json")
