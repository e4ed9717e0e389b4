#!/bin/sh
# Entry point of the cofre image. The vault's master key is a Docker secret file; cofre reads the key
# from COFRE_VAULT_KEY, so it is exported here, into this process and its children only (it is not in the
# container's configuration, where `docker inspect` would show it).
set -eu
if [ -n "${COFRE_VAULT_KEY_FILE:-}" ] && [ -z "${COFRE_VAULT_KEY:-}" ]; then
    if [ ! -r "$COFRE_VAULT_KEY_FILE" ]; then
        echo "entrypoint: cannot read the vault key $COFRE_VAULT_KEY_FILE (docs/stack.md: owner uid 50000, mode 0600)" >&2
        exit 1
    fi
    COFRE_VAULT_KEY=$(cat "$COFRE_VAULT_KEY_FILE")
    export COFRE_VAULT_KEY
fi
exec "$@"
