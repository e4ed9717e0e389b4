#!/bin/sh
# One-shot `airflow-init`: Airflow's metadata database schema, and the password of the UI's admin user
# (the simple auth manager reads {"user": "password"} from its passwords file on the airflow-auth volume).
set -eu
: "${COFRE_STACK_AIRFLOW_ADMIN_PASSWORD:?set COFRE_STACK_AIRFLOW_ADMIN_PASSWORD in .env}"
airflow db migrate
passwords="$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
mkdir -p "$(dirname "$passwords")"
umask 077
python - "$passwords" <<'PY'
import json
import os
import sys

with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump({"admin": os.environ["COFRE_STACK_AIRFLOW_ADMIN_PASSWORD"]}, handle)
PY
echo "airflow-init: database migrated; admin password set from COFRE_STACK_AIRFLOW_ADMIN_PASSWORD"
