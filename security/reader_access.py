"""The read-only login of the dashboard and Grafana on PostgreSQL: one role that can SELECT the published
marts, the gold aggregates and the operational tables, and nothing else (no raw, staging or silver).

The role's password is a vault entry. It is sent to the server only as a SCRAM-SHA-256 verifier computed
here, so the plain password never appears in an SQL statement (which the server may log) or on the wire.
Grants are applied in the caller's transaction, so readers see the new marts and their access to them
at the same moment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from psycopg2 import sql
from psycopg2.extensions import cursor as PgCursor

SCRAM_ITERATIONS = 4096
"""PostgreSQL's own default (scram_iterations)."""


def scram_sha256_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` string PostgreSQL stores (RFC 5802,
    RFC 7677). Limited to ASCII passwords, for which SASLprep is the identity (cofre generates them)."""
    if not password.isascii():
        raise ValueError(
            "the reader role's password must be ASCII: "
            "set a new one with `cofre vault set pg_reader_password`"
        )
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def ensure_reader_role(cursor: PgCursor, role: str, password: str | None) -> None:
    """Create the login role if it is missing, or reset it to read-only; set its password when given; let
    it connect to the current database.

    NOINHERIT and no attributes: even if someone grants it another role, it does not gain that role's
    rights; every session it opens is read-only by default as a second guard."""
    cursor.execute("select 1 from pg_roles where rolname = %s", (role,))
    verb = "alter" if cursor.fetchone() else "create"
    attributes = "login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
    cursor.execute(sql.SQL(f"{verb} role {{}} {attributes}").format(sql.Identifier(role)))
    if password:
        cursor.execute(
            sql.SQL("alter role {} password %s").format(sql.Identifier(role)),
            (scram_sha256_verifier(password),),
        )
    cursor.execute(
        sql.SQL("alter role {} set default_transaction_read_only = on").format(sql.Identifier(role))
    )
    cursor.execute("select current_database()")
    database = sql.Identifier(cursor.fetchone()[0])
    restrict_database(cursor)
    cursor.execute(sql.SQL("grant connect on database {} to {}").format(database, sql.Identifier(role)))


def restrict_database(cursor: PgCursor) -> bool:
    """Where cofre owns the current database (its owner is the pipeline's role), take from PUBLIC what
    PostgreSQL gives every role by default: CONNECT and TEMP on the database, USAGE and CREATE on its
    schemas (`public` included). The pipeline's role keeps CONNECT and TEMP (dbt needs temporary tables);
    the reader gets CONNECT from `ensure_reader_role` and nothing else. Other databases on the server
    stay as their owners set them. Returns whether the database was cofre's to restrict.

    What PostgreSQL does not hide: pg_catalog (pg_class, pg_attribute, ...) stays readable by every role
    that can connect, so table and column names are visible there; data, and information_schema entries,
    are not (information_schema lists only what the role holds a privilege on)."""
    cursor.execute(
        "select datname from pg_database where datname = current_database() "
        "and datdba = (select oid from pg_roles where rolname = current_user)"
    )
    row = cursor.fetchone()
    if row is None:
        return False
    database = sql.Identifier(row[0])
    cursor.execute(sql.SQL("revoke connect, temporary on database {} from public").format(database))
    cursor.execute(sql.SQL("grant connect, temporary on database {} to current_user").format(database))
    cursor.execute(
        "select nspname from pg_namespace where nspname <> 'information_schema' "
        "and nspname not like 'pg\\_%' "
        "and nspowner = (select oid from pg_roles where rolname = current_user) "
        "or nspname = 'public'"
    )
    for (schema,) in cursor.fetchall():
        cursor.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(schema)))
    return True


def grant_schema_read(cursor: PgCursor, role: str, schema: str, tables: Iterable[str] | None = None) -> None:
    """Let `role` read `tables` of `schema` (every table when None). Call after each rebuild of the
    schema: grants belong to the objects, and a swapped-in schema is a new object."""
    ident = sql.Identifier(role)
    cursor.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), ident))
    if tables is None:
        cursor.execute(
            sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(schema), ident)
        )
        return
    for table in tables:
        cursor.execute(
            sql.SQL("grant select on {}.{} to {}").format(
                sql.Identifier(schema), sql.Identifier(table), ident
            )
        )
