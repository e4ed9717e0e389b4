#!/bin/sh
# One-shot `cofre-init`: the shared state volume (/state) for every cofre container of the stack.
#
# 1. the vault, sealed with the master key of the Docker secret cofre_vault_key (never on a volume);
# 2. the credentials cofre resolves from the vault, set from the stack's own secrets, so one value
#    serves both sides: the warehouse user's password, the read-only role's password (the same file
#    Grafana reads), the lake's key pair (MinIO's);
# 3. the dbt manifest and step snapshot the Airflow DAGs render from (`cofre airflow manifest`).
# Values travel on stdin (`cofre vault set` reads them there), never on a command line.
set -eu
: "${COFRE_VAULT_KEY:?the vault key did not reach this container (COFRE_VAULT_KEY_FILE)}"
reader_password_file="${PG_READER_PASSWORD_FILE:-/run/secrets/pg_reader_password}"

if [ ! -f "$COFRE_HOME/vault/vault.json" ]; then
    cofre vault init
fi
printf %s "$COFRE_STACK_PG_PASSWORD" | cofre vault set pg_password
tr -d '\r\n' < "$reader_password_file" | cofre vault set pg_reader_password
printf %s "$COFRE_STACK_MINIO_USER" | cofre vault set lake_access_key
printf %s "$COFRE_STACK_MINIO_PASSWORD" | cofre vault set lake_secret_key
cofre vault verify
cofre airflow manifest
