"""The names of the vault entries cofre itself relies on, so no other module spells them.

Users may add any other entry (for example `openweather_api_key`, read by the dlt provider as
`sources.openweather.api_key`); these are the ones code looks up by name.
"""

MASKING_KEY = "masking_key"
"""Key of the deterministic PII tokens in silver (HMAC-SHA256 on DuckDB, PostgreSQL and Spark)."""

AUDIT_HMAC_KEY = "audit_hmac_key"
"""Key of the audit trail's event and head MACs."""

LAKE_ACCESS_KEY = "lake_access_key"
LAKE_SECRET_KEY = "lake_secret_key"  # noqa: S105 (an entry name)
"""S3 credentials of the lake (MinIO/S3 in the stack)."""

PG_PASSWORD = "pg_password"  # noqa: S105 (an entry name)
"""Password of the PostgreSQL warehouse user, when the server requires one."""

PG_READER_PASSWORD = "pg_reader_password"  # noqa: S105 (an entry name)
"""Password of the read-only login role (Settings.pg_reader_user) of the dashboard and Grafana."""

AIRFLOW_CONN_PREFIX = "airflow_conn_"
AIRFLOW_VAR_PREFIX = "airflow_var_"
"""Entries served to Airflow: `airflow_conn_<conn_id>` (URI or JSON) and `airflow_var_<key>`."""
