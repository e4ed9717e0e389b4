"""First-run secrets of the embedded default, generated so that no one has to invent or type them.

Only secrets cofre itself owns are generated: the masking key, the audit key, the lake's S3
credentials and the password of the read-only role cofre creates for the dashboard and Grafana.
Credentials issued by someone else (an OpenWeather API key, a PostgreSQL server's password) are left to
the user, who adds them with `cofre vault set`.
"""

from __future__ import annotations

import secrets
import string

from security.keys import encode_b64
from security.secret_names import (
    AUDIT_HMAC_KEY,
    LAKE_ACCESS_KEY,
    LAKE_SECRET_KEY,
    MASKING_KEY,
    PG_READER_PASSWORD,
)
from security.vault import Vault

_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits


def _random_key() -> str:
    return encode_b64(secrets.token_bytes(32))


def _access_key_id() -> str:
    """20 upper-case letters and digits: the shape S3 servers (MinIO, moto) accept as an access key."""
    return "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(20))


EMBEDDED_SECRETS = {
    MASKING_KEY: _random_key,
    AUDIT_HMAC_KEY: _random_key,
    LAKE_ACCESS_KEY: _access_key_id,
    LAKE_SECRET_KEY: lambda: secrets.token_urlsafe(30),
    PG_READER_PASSWORD: lambda: secrets.token_urlsafe(30),
}
"""Entry name -> generator of a fresh value (256-bit keys as base64url; S3-shaped lake credentials)."""


def ensure_embedded_secrets(vault: Vault) -> list[str]:
    """Create whichever embedded-default secrets are absent and return their names (never values).

    Existing entries are kept, even when another process creates them at the same moment:
    regenerating the masking key would change every token in silver, and regenerating the audit key
    would make the existing trail unverifiable.
    """
    return [name for name, generate in EMBEDDED_SECRETS.items() if vault.set_default(name, generate())]
