"""Identity resolution on PostgreSQL: dbt (pre-identity) -> resolve_identities through a dlt postgres
destination -> dbt build of the identity models with their tests; same quality bar as on DuckDB."""

import shutil
from collections import Counter

import pytest

from identity import resolve_identities
from revloop.warehouse import state_dir
from tests.fixtures.postgres import BuiltPostgres, PostgresDatabase, database_copy
from tests.integration.test_identity_resolution import (
    MINIMUM,
    POST_IDENTITY,
    PRE_IDENTITY,
    pairs,
    person_of_id,
    supported_person_of_id,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def rows(database: PostgresDatabase, sql: str) -> list[tuple]:
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.fixture(scope="module")
def resolved_postgres(built_postgres_template: BuiltPostgres, tmp_path_factory):
    """A copy of the run's built PostgreSQL database, of its identity run's local state, and that run's
    summary; the identity models' dbt tests having passed."""
    work = tmp_path_factory.mktemp("identity_postgres")
    built = built_postgres_template
    built.dbt.assert_tests_passed(PRE_IDENTITY, work / "pre")
    built.dbt.assert_tests_passed(POST_IDENTITY, work / "post")
    state = work / "state.duckdb"  # where the identity pipeline keeps its local dlt state
    shutil.copytree(state_dir(built.identity_state), state_dir(state))
    with database_copy(built.template, "revloop_test_identity") as database:
        yield database, state, built.dbt.identity


def test_identity_models_build_and_resolve_on_postgres(resolved_postgres, raw_warehouse):
    database, _, first = resolved_postgres
    truth = raw_warehouse.world.truth
    records = rows(
        database,
        "select distinct source_system, source_record_type, source_id from intermediate.int_identity_records",
    )
    profile = {
        (s, t, i): p
        for s, t, i, p in rows(
            database,
            "select source_system, source_record_type, source_id, profile_id from marts.identity_links",
        )
    }
    assert len(set(profile.values())) == first.profiles
    really, supported = person_of_id(truth), supported_person_of_id(truth)
    predicted = Counter(profile[r] for r in records if r in profile)
    agreeing = Counter((profile[r], really.get(r[2])) for r in records if r in profile and really.get(r[2]))
    expected = Counter(supported[r[2]] for r in records if r[2] in supported)
    found = Counter((supported[r[2]], profile[r]) for r in records if r[2] in supported and r in profile)
    assert pairs(agreeing.values()) / pairs(predicted.values()) >= MINIMUM
    assert pairs(found.values()) / pairs(expected.values()) >= MINIMUM
    messages = rows(database, "select count(*) from intermediate.int_event_messages_resolved")
    assert messages[0][0] > 0


def test_rerun_on_postgres_keeps_every_id(resolved_postgres):
    database, state, _ = resolved_postgres
    before = rows(
        database,
        "select source_system, source_record_type, source_id, profile_id, updated_at "
        "from identity.profile_map order by 1, 2, 3",
    )
    again = resolve_identities(warehouse=state, destination=database.destination())
    assert (again.created, again.merges, again.splits) == (0, 0, 0)
    after = rows(
        database,
        "select source_system, source_record_type, source_id, profile_id, updated_at "
        "from identity.profile_map order by 1, 2, 3",
    )
    assert after == before
