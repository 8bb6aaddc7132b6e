"""The segment compiler's SQL on PostgreSQL: injection matches literally, and materialisation gives the same
memberships and history as on DuckDB (every operator on both engines: test_segments_engine.py)."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg2
import pytest

from revloop.cli import main
from segments.compiler import compile_segment
from segments.connection import PostgresConnection, connect_postgres
from segments.definitions import load_segment
from segments.materialize import materialize_segments
from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.postgres import POSTGRES_ADMIN_DB, PostgresDatabase
from tests.integration.test_segments_engine import (  # noqa: F401 (fixtures: fixture_warehouse, profiles_on_postgres)
    AS_OF,
    DEALS,
    PROFILES,
    PROFILES_TABLE,
    SCHEMA,
    TOUCHPOINTS_TABLE,
    add_handoffs,
    fill,
    fixture_warehouse,
    profiles_on_postgres,
    segment_file,
    write_config,
)


@contextmanager
def admin(server: PostgresDatabase):
    """A cursor on the server's admin database, outside any transaction (CREATE / DROP DATABASE)."""
    connection = psycopg2.connect(
        host=server.host, port=server.port, user=server.user, dbname=POSTGRES_ADMIN_DB
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


@pytest.mark.parametrize("attack", ["x' OR 1=1 --", "%s", "%", "'); DROP SCHEMA segments_test CASCADE; --"])
def test_injection_matches_literally_on_postgres(profiles_on_postgres, tmp_path, attack):  # noqa: F811
    connection, columns = profiles_on_postgres
    # through the wrapper materialisation uses: a % or %s in a value must not reach psycopg2's formatting
    wrapped = PostgresConnection(connection)
    for op in ("eq", "contains", "starts_with"):
        path = segment_file(tmp_path / "segments", {"field": "email", "op": op, "value": attack})
        compiled = compile_segment(load_segment(path), columns, AS_OF)
        rows = wrapped.execute(compiled.select().replace("marts.", f"{SCHEMA}."), compiled.params).fetchall()
        assert {row[0] for row in rows} == ({"p4"} if attack == "x' OR 1=1 --" else set())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SCHEMA}.customer_profiles")
        assert cursor.fetchone()[0] == len(PROFILES)


@pytest.fixture
def marts_on_postgres(postgres_database: PostgresDatabase, monkeypatch) -> Iterator[PostgresDatabase]:
    """A database of this test's own holding the fixture marts, and the POSTGRES_* variables naming it."""
    database = PostgresDatabase(
        postgres_database.host,
        postgres_database.port,
        postgres_database.user,
        f"{postgres_database.dbname}_segments",
    )
    with admin(postgres_database) as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {database.dbname} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {database.dbname}")
    connection = database.connect()
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA marts")
        cursor.execute("CREATE SCHEMA intermediate")
        cursor.execute(PROFILES_TABLE.format(table="marts.customer_profiles"))
        cursor.execute(TOUCHPOINTS_TABLE.format(table="marts.touchpoints"))
        fill(cursor, "marts")
        cursor.execute(
            "CREATE TABLE intermediate.int_ml_deals (profile_id TEXT, deal_id TEXT, created_at TIMESTAMP)"
        )
        for pid, days in DEALS:
            created = (AS_OF - dt.timedelta(days=days)).replace(tzinfo=None)
            cursor.execute(
                "INSERT INTO intermediate.int_ml_deals VALUES (%s, %s, %s)", [pid, f"deal-{pid}", created]
            )
    connection.close()
    for name, value in database.dbt_env().items():
        monkeypatch.setenv(name, value)
    yield database
    with admin(postgres_database) as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {database.dbname} WITH (FORCE)")


def scenario(config: Path, run, add_handoffs) -> None:
    """The engine test's two runs: a segment removed, another widened, handoffs recorded in between."""
    write_config(config, dt.date(2026, 6, 1), ["Technology"])
    run(AS_OF)
    write_config(config, dt.date(2026, 12, 1), ["Technology", "Finance"])
    (config / "segments" / "buyers.yml").unlink()
    add_handoffs([("p2", AS_OF - dt.timedelta(hours=1)), ("p6", AS_OF + dt.timedelta(hours=2))])
    run(AS_OF + dt.timedelta(hours=1))


HISTORY_SQL = (
    "SELECT segment_name, segment_type, size, entries, exits, handoff_count, handoff_rate, "
    "opportunity_count, opportunity_rate, order_count, order_rate, customer_count, customer_rate, "
    "conversion_notes "
    "FROM {schema}.segment_history ORDER BY run_at, segment_name"
)
MEMBERS_SQL = "SELECT segment_name, segment_type, profile_id FROM {schema}.segment_memberships ORDER BY 1, 3"


def test_materialize_on_postgres_matches_duckdb(marts_on_postgres, fixture_warehouse, tmp_path, capsys):  # noqa: F811
    duck_config, pg_config = tmp_path / "duck", tmp_path / "pg"
    scenario(
        duck_config,
        lambda at: materialize_segments(fixture_warehouse, duck_config, as_of=at),
        lambda handoffs: add_handoffs(fixture_warehouse, handoffs),
    )

    def run_on_postgres(at: dt.datetime) -> None:
        connection = connect_postgres()
        try:
            assert materialize_segments(config_dir=pg_config, as_of=at, connection=connection).ok
        finally:
            connection.close()

    def add_handoffs_on_postgres(handoffs) -> None:
        connection = marts_on_postgres.connect()
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE marts.lead_handoffs (profile_id TEXT, trigger TEXT, priority TEXT, "
                "owner_id TEXT, assignment_rule TEXT, handed_off_at TIMESTAMPTZ, crm TEXT, "
                "crm_record_id TEXT)"
            )
            for profile_id, at in handoffs:
                cursor.execute(
                    "INSERT INTO marts.lead_handoffs VALUES (%s, 'score', 'immediate', 'u1', 'default', %s, "
                    "'salesforce', %s)",
                    [profile_id, at, f"00Q{profile_id}"],
                )
        connection.close()

    scenario(pg_config, run_on_postgres, add_handoffs_on_postgres)
    duck = duckdb.connect(str(fixture_warehouse), read_only=True)
    expected_history, expected_members = (
        duck.execute(HISTORY_SQL.format(schema="segments")).fetchall(),
        duck.execute(MEMBERS_SQL.format(schema="segments")).fetchall(),
    )
    duck.close()
    # dbt builds the marts over the step's tables on PostgreSQL too
    selection = ["segment_memberships", "segment_history"]
    assert_dbt_ok(run_dbt(["build", "--select", *selection], tmp_path, marts_on_postgres.dbt_env()))
    connection = marts_on_postgres.connect()
    for schema in ("segments", "marts"):
        with connection.cursor() as cursor:
            cursor.execute(HISTORY_SQL.format(schema=schema))
            history = cursor.fetchall()
            cursor.execute(MEMBERS_SQL.format(schema=schema))
            members = cursor.fetchall()
        assert len(history) == 6 and history == expected_history, schema
        assert members == expected_members, schema
    connection.close()
    # the command line reaches the same database through DBT_TARGET / POSTGRES_*; by now p6 is handed off too
    assert main(["segments", "materialize", "--config-dir", str(pg_config)]) == 0
    assert "by_industry (dynamic): 4 members, +0 -0; conversion handoff 50.0%" in capsys.readouterr().out
