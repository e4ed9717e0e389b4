"""The reference implementation of cofre's deterministic PII tokens, shared by every engine.

A token is the lowercase hex HMAC-SHA256 of the trimmed value (UTF-8) under the vault's masking key
(the UTF-8 bytes of the `masking_key` entry). The same input and key give the same token in Python,
DuckDB (transform/macros/masking.sql, through the pads of `duckdb_hmac_pads`), PostgreSQL (pgcrypto's
`hmac`) and Spark, so tokens still join across engines. tests/transform/masking_vector.json pins it.
"""

from __future__ import annotations

import hashlib
import hmac

BLOCK_SIZE = 64
"""SHA-256 block size in bytes: HMAC pads (or first hashes) the key to this length."""


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def mask_token(value: str, key: str | bytes) -> str:
    """Token of `value` (trimmed of surrounding whitespace) under `key`: 64 lowercase hex characters."""
    return hmac.new(_key_bytes(key), value.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def duckdb_hmac_pads(key: str | bytes) -> tuple[str, str]:
    """(ipad, opad) as hex for DuckDB, which has sha256 but no hmac.

    With these set as session variables, DuckDB computes the same token as `mask_token`:
    `sha256(getvariable('opad') || unhex(sha256(getvariable('ipad') || encode(value))))`.
    The pads are as secret as the key itself: they go only into a session, never into SQL text.
    """
    raw = _key_bytes(key)
    if len(raw) > BLOCK_SIZE:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(BLOCK_SIZE, b"\x00")
    ipad = bytes(b ^ 0x36 for b in raw)
    opad = bytes(b ^ 0x5C for b in raw)
    return ipad.hex(), opad.hex()
