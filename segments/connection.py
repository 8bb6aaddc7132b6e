"""The warehouse segments are written to: DuckDB by default, or PostgreSQL (the dbt postgres target).

The segment SQL is written once with ? placeholders and only what both databases understand; a PostgreSQL
connection is wrapped to answer the same calls a DuckDB one does (execute, fetchall, fetchone, begin, commit).
"""

import os
from typing import Any

from segments.definitions import SegmentError

# the variables dbt_project/profiles.yml reads for its postgres target: one variable per fact
POSTGRES_VARIABLES = {
    "host": ("POSTGRES_HOST", "127.0.0.1"),
    "port": ("POSTGRES_PORT", "5432"),
    "user": ("POSTGRES_USER", "root"),
    "password": ("POSTGRES_PASSWORD", ""),
    "dbname": ("POSTGRES_DB", "test"),
}
TARGETS = ("duckdb", "postgres")


class PostgresConnection:
    """A psycopg2 connection behind DuckDB's calls: `execute(sql with ?, params).fetchall()`."""

    def __init__(self, connection: Any):
        self._connection = connection
        self._cursor = connection.cursor()

    def execute(self, sql: str, params: list | tuple = ()) -> "PostgresConnection":
        """Run one statement; ? become %s (values are never in the SQL text, so every ? is a placeholder)."""
        self._cursor.execute(sql.replace("%", "%%").replace("?", "%s"), list(params))
        return self

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone()

    def begin(self) -> None:
        """psycopg2 opens a transaction by itself at the first statement."""

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()


def connect_postgres() -> PostgresConnection:
    """The PostgreSQL warehouse named by the POSTGRES_* variables (as dbt's postgres target reads them)."""
    import psycopg2

    settings = {key: os.environ.get(name) or default for key, (name, default) in POSTGRES_VARIABLES.items()}
    if not settings["password"]:
        del settings["password"]  # trust or peer auth; an empty password is not a password
    try:
        return PostgresConnection(psycopg2.connect(**settings, connect_timeout=10))
    except psycopg2.OperationalError as exc:
        where = f"{settings['user']}@{settings['host']}:{settings['port']}/{settings['dbname']}"
        raise SegmentError(f"PostgreSQL warehouse {where}: {str(exc).strip()}") from None


def default_target() -> str:
    """duckdb, or postgres when DBT_TARGET says the marts are built there."""
    return os.environ.get("DBT_TARGET") or "duckdb"


def in_list(expression: str, values: list, negate: bool = False) -> tuple[str, list]:
    """`expression [NOT] IN (?, ...)` and its parameters; an empty list matches nothing (or everything)."""
    if not values:
        return ("true" if negate else "false"), []
    return f"{expression} {'NOT ' if negate else ''}IN ({', '.join(['?'] * len(values))})", list(values)
