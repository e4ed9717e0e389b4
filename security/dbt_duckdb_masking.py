"""dbt-duckdb plugin that gives every DuckDB session of a dbt run the masking key, as HMAC pads.

It is enabled with the key from the environment (never written in a file), as Airflow's profile does:

    plugins:
      - module: security.dbt_duckdb_masking
        config:
          masking_key: "{{ env_var('DBT_ENV_SECRET_MASKING_KEY') }}"

When the key is empty and the config names a `key_source` (`module:function`), that function is called
with the plugin's config and returns the key: transform/profiles.yml names
`orchestration.warehouse.dbt_masking:masking_key_from_vault`, so a plain `dbt build` in transform/ reads the
key from the vault inside dbt's process. This module imports nothing of the caller's: the profile wires it.

`configure_connection` (the database connection) and `configure_cursor` (each cursor dbt opens on it)
run `SET VARIABLE cofre_mask_ipad/opad`, directly on the DuckDB connection: the statements do not pass
through dbt, so they are not in its logs, and models only name the variables (`getvariable(...)`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from security.masking import duckdb_hmac_pads

IPAD_VARIABLE = "cofre_mask_ipad"
OPAD_VARIABLE = "cofre_mask_opad"


def key_source(reference: str) -> Callable[[dict[str, Any]], str]:
    """The function named `module:function` (the `key_source` of the plugin's config)."""
    module, _, name = reference.partition(":")
    function: Callable[[dict[str, Any]], str] = getattr(importlib.import_module(module), name)
    return function


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        key = str(plugin_config.get("masking_key") or "")
        if not key and plugin_config.get("key_source"):
            key = key_source(str(plugin_config["key_source"]))(plugin_config)
        if not key:
            raise ValueError(
                "The masking plugin has no key: set DBT_ENV_SECRET_MASKING_KEY (cofre does it from the "
                "vault; by hand: see transform/README.md)."
            )
        self._pads = duckdb_hmac_pads(key)

    def _set_pads(self, conn: Any) -> None:
        ipad, opad = self._pads
        # Hex digits only (from bytes.hex()), so building the statement is safe.
        conn.execute(f"SET VARIABLE {IPAD_VARIABLE} = unhex('{ipad}')")
        conn.execute(f"SET VARIABLE {OPAD_VARIABLE} = unhex('{opad}')")

    def configure_connection(self, conn: Any) -> None:
        self._set_pads(conn)

    def configure_cursor(self, cursor: Any) -> None:
        self._set_pads(cursor)
