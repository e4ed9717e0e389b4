#!/bin/sh
# First start of the stack's PostgreSQL only (the image runs /docker-entrypoint-initdb.d/* on an empty
# data volume): Airflow's metadata database and its owner. The warehouse database (POSTGRES_DB) and
# its superuser exist already; the pipeline creates the schemas and the read-only role itself.
#
# The password is read inside psql with \getenv, so it is neither on a command line nor in a file.
set -eu
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"
export AIRFLOW_DB_USER="${AIRFLOW_DB_USER:-airflow}" AIRFLOW_DB_NAME="${AIRFLOW_DB_NAME:-airflow}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
\getenv airflow_user AIRFLOW_DB_USER
\getenv airflow_db AIRFLOW_DB_NAME
\getenv airflow_password AIRFLOW_DB_PASSWORD
create role :"airflow_user" login password :'airflow_password';
create database :"airflow_db" owner :"airflow_user";
revoke all on database :"airflow_db" from public;
SQL
