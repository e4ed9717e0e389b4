"""An Airflow secrets backend that serves connections and variables from the cofre vault.

Configure it in the environment of every Airflow component:

    AIRFLOW__SECRETS__BACKEND=security.airflow_backend.CofreVaultSecretsBackend
    AIRFLOW__SECRETS__BACKEND_KWARGS={"vault_path": "/state/vault/vault.json",
                                      "key_file": "/state/vault/vault.key",
                                      "audit_path": "/state/audit/audit.jsonl"}

Connection `<conn_id>` is the entry `airflow_conn_<conn_id>` (an Airflow URI or Airflow's connection
JSON); variable `<key>` is `airflow_var_<key>`. The master key comes only from the 0600 key file: a key
in BACKEND_KWARGS would sit in plain text in Airflow's configuration.

With `state_dir` instead of `vault_path`, the state directory is opened like the CLI opens it
(`security.state.open_state`): the key file defaults to the per-user one outside the state directory
(`key_file` overrides it), and the vault and the audit trail are checked against the state's anchor, so
a rolled-back vault or a deleted trail is refused here too. `config_home` is the per-user config
directory (default: `$XDG_CONFIG_HOME` or `~/.config`; Airflow builds this class itself, so this is the
edge that reads it). With `audit_path`, every lookup
that finds a value is a `secret.read` event (actor "airflow"). Lookups that find nothing return None so
Airflow falls through to its environment variables and metastore.
"""

from __future__ import annotations

import os
from pathlib import Path
from threading import Lock

from airflow.secrets import BaseSecretsBackend

from security.audit import AuditTrail
from security.errors import InvalidSecretName, SecretNotFound
from security.secret_names import AIRFLOW_CONN_PREFIX, AIRFLOW_VAR_PREFIX
from security.state import default_config_home, open_state
from security.vault import Vault


class CofreVaultSecretsBackend(BaseSecretsBackend):
    """Airflow connections and variables from the vault; the vault is opened at the first lookup."""

    def __init__(
        self,
        vault_path: str | None = None,
        key_file: str | None = None,
        audit_path: str | None = None,
        connections_prefix: str = AIRFLOW_CONN_PREFIX,
        variables_prefix: str = AIRFLOW_VAR_PREFIX,
        state_dir: str | None = None,
        config_home: str | None = None,
    ) -> None:
        super().__init__()
        if (vault_path is None) == (state_dir is None):
            raise ValueError("Give the backend either state_dir or vault_path (with key_file), not both.")
        if vault_path is not None and key_file is None:
            raise ValueError("vault_path needs key_file: the backend never takes the key itself.")
        self.vault_path = Path(vault_path) if vault_path is not None else None
        self.key_file = Path(key_file) if key_file is not None else None
        self.audit_path = Path(audit_path) if audit_path else None
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.config_home = Path(config_home) if config_home else default_config_home(os.environ)
        self.connections_prefix = connections_prefix
        self.variables_prefix = variables_prefix
        self._vault: Vault | None = None
        self._opening = Lock()

    def _opened(self) -> Vault:
        with self._opening:
            if self._vault is None and self.state_dir is not None:
                opened = open_state(
                    self.state_dir, config_home=self.config_home, key_file=self.key_file, actor="airflow"
                )
                self._vault = opened.vault  # the trail is wired to it: every read is an event
            elif self._vault is None:
                assert self.vault_path is not None and self.key_file is not None
                vault = Vault(self.vault_path, key_file=self.key_file)
                if self.audit_path is not None:
                    AuditTrail.for_vault(self.audit_path, vault, actor="airflow")
                self._vault = vault
            return self._vault

    def _lookup(self, name: str) -> str | None:
        try:
            return self._opened().get(name)
        except (SecretNotFound, InvalidSecretName):
            return None

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """The stored URI or JSON of connection `conn_id` (Airflow builds the Connection from it)."""
        return self._lookup(self.connections_prefix + conn_id)

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        return self._lookup(self.variables_prefix + key)
