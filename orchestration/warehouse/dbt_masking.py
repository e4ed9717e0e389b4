"""The masking key's second source for the DuckDB masking plugin (`security.dbt_duckdb_masking`): the key
comes from dbt's environment when cofre gives it (`cofre run`, `cofre dbt`); when it does not, the plugin
calls `masking_key_from_vault` (its `key_source` in transform/profiles.yml), so a plain `dbt build` in
transform/ works with only `COFRE_HOME` known and no secret in the shell.

This module is an edge, like the CLI: dbt imports it inside its own process, so it builds the one
Settings object from the `COFRE_*` variables (the state directory from the profile, which defaults it to
`../.cofre` as the DuckDB path does) and opens the state as every cofre process does (the key file outside
the state directory, under `$XDG_CONFIG_HOME`; the anchor checked). The read is a `secret.read` audit
event of the actor `dbt`. The key stays in this process: it never enters an environment variable, the
SQL or dbt's logs (the pads are set on the DuckDB connection by `security.dbt_duckdb_masking`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from security.errors import CofreSecurityError, VaultNotInitialized
from security.secret_names import MASKING_KEY


class MaskingKeyUnavailable(RuntimeError):
    """The plugin found no key in its configuration and could not read it from the vault."""


def masking_key_from_vault(plugin_config: dict[str, Any]) -> str:
    """The vault's masking key for the state directory `home` of the plugin's config (profiles.yml:
    COFRE_HOME, else ../.cofre), read through the audited vault: one `secret.read` event of the actor dbt."""
    from orchestration.services import open_audited
    from orchestration.settings import Settings

    home = str(plugin_config.get("home") or "") or None
    settings = Settings(home=Path(home)) if home else Settings()
    try:
        vault, _audit = open_audited(settings, actor="dbt")
        return vault.get(MASKING_KEY)
    except VaultNotInitialized:
        raise MaskingKeyUnavailable(
            f"No cofre state directory with a vault at {settings.home}: run `make run` (or `cofre run`) "
            "first, or set COFRE_HOME to the state directory it made."
        ) from None
    except CofreSecurityError as error:
        raise MaskingKeyUnavailable(f"Could not read the masking key from the vault: {error}") from None
