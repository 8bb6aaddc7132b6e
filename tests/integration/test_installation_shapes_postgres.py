"""The events-only shape on PostgreSQL: no raw_salesforce or raw_hubspot schema at all, and the staging,
identity, profile, CRM-sync and handoff models still build and pass their dbt tests."""

from collections.abc import Iterator
from contextlib import closing

import pytest
from psycopg2 import sql

from identity import resolve_identities
from ingestion.events import events_source
from ingestion.events import settings as events_settings
from ingestion.quarantine import Rejections
from revloop.warehouse import make_pipeline
from sandbox.world import generate_world
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt
from tests.fixtures.postgres import PostgresDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

UPSTREAM_NODES = ["+customer_profiles", "+identity_links", "+int_handoff_signals"]
BUILT = [
    "customer_profiles", "identity_links", "segment_memberships", "path:models/sync", "path:models/handoff"
]


@pytest.fixture
def events_only_postgres(postgres_database: PostgresDatabase) -> Iterator[PostgresDatabase]:
    """A database of its own on the session's server (raw_postgres fills the session's with both CRMs)."""
    name = f"{postgres_database.dbname}_events_only"
    database = PostgresDatabase(postgres_database.host, postgres_database.port, postgres_database.user, name)

    def run(statement: str) -> None:
        with closing(postgres_database.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL(statement).format(sql.Identifier(name)))

    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run("CREATE DATABASE {}")
    try:
        yield database
    finally:
        run("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def _rows(database: PostgresDatabase, query: str) -> list[tuple]:
    with closing(database.connect()) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def test_events_only_models_build_on_postgres(events_only_postgres: PostgresDatabase, tmp_path):
    world = generate_world(people=150, seed=5)
    world.write_events(tmp_path / "events")
    pipeline = make_pipeline(
        events_settings.PIPELINE_NAME, events_settings.DATASET, tmp_path / "warehouse.duckdb",
        events_only_postgres.destination(),
    )
    pipeline.run(events_source(tmp_path / "events", Rejections()))
    env = events_only_postgres.dbt_env()
    assert_dbt_ok(run_dbt(["run", *STAGING_SELECTION, "+int_identity_records"], tmp_path, env))
    resolve_identities(destination=events_only_postgres.destination())
    assert_dbt_ok(run_dbt(["run", "--select", *UPSTREAM_NODES], tmp_path, env))
    assert_dbt_ok(run_dbt(["build", "--indirect-selection", "cautious", "--select", *BUILT], tmp_path, env))

    db = events_only_postgres
    schemas = {r[0] for r in _rows(db, "select schema_name from information_schema.schemata")}
    assert "raw_events" in schemas and not {"raw_salesforce", "raw_hubspot"} & schemas
    [(profiles, emails)] = _rows(db, "select count(*), count(email) from marts.customer_profiles")
    assert profiles > 0 and emails > 0
    [(leads, contacts)] = _rows(
        db,
        "select (select count(*) from staging.stg_salesforce__leads),"
        " (select count(*) from activation.sync_hubspot__contacts)",
    )
    assert leads == 0 and contacts == 0
