"""A dlt config provider that answers `dlt.secrets.value` arguments of sources from the vault.

Mapping: a secret argument `<key>` of a source resolved in section `sources.<...>.<name>` is the vault
entry `<name>_<key>`, where `<name>` is the innermost section dlt asks for. dlt asks for
`sources.<module>.<source name>` and then for `sources.<source name>`, so the source

    @dlt.source(name="openweather")
    def openweather_source(api_key: str = dlt.secrets.value): ...

gets the entry `openweather_api_key`, whatever module defines it. Only secret-typed values of sources
are looked up (non-secrets come from the settings; destinations get their credentials from
credentials.py); anything else answers "not found" so dlt's other providers decide. dlt asks its
environment and TOML providers first: an explicit SOURCES__OPENWEATHER__API_KEY still wins, which is
what an operator overriding one run expects.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.configuration.container import Container
from dlt.common.configuration.exceptions import DuplicateConfigProviderException
from dlt.common.configuration.providers.provider import ConfigProvider
from dlt.common.configuration.specs.base_configuration import is_secret_hint
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

from security.errors import InvalidSecretName, SecretNotFound
from security.vault import Vault

PROVIDER_NAME = "cofre vault"
SOURCES_SECTION = "sources"


def vault_entry_name(key: str, sections: tuple[str, ...]) -> str | None:
    """The vault entry that holds secret `key` requested in `sections`, or None when not ours."""
    if len(sections) < 2 or sections[0] != SOURCES_SECTION:
        return None
    return f"{sections[-1]}_{key}"


class VaultConfigProvider(ConfigProvider):
    """Serves source secrets from a Vault; every value served is a `Vault.get`, audited if wired."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def get_value(
        self, key: str, hint: type[Any], pipeline_name: str | None, *sections: str
    ) -> tuple[Any | None, str]:
        name = vault_entry_name(key, sections) if is_secret_hint(hint) else None
        if name is None:
            return None, key
        try:
            return self._vault.get(name), name
        except (SecretNotFound, InvalidSecretName):
            return None, name

    @property
    def supports_secrets(self) -> bool:
        return True

    @property
    def supports_sections(self) -> bool:
        return True

    @property
    def name(self) -> str:
        return PROVIDER_NAME

    @property
    def locations(self) -> list[str]:
        return [str(self._vault.path)]


def register_vault_provider(vault: Vault) -> VaultConfigProvider:
    """Make dlt resolve source secrets from `vault`; calling it again replaces the earlier vault."""
    provider = VaultConfigProvider(vault)
    try:
        dlt.config.register_provider(provider)
    except DuplicateConfigProviderException:
        Container()[PluggableRunContext].providers[PROVIDER_NAME] = provider
    return provider
