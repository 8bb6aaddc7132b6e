"""The ML feature models on PostgreSQL: raw world -> dbt -> identity -> dbt --target postgres, with their dbt
tests."""

import pytest

from identity import resolve_identities
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt
from tests.fixtures.postgres import PostgresDatabase
from tests.integration.test_ml_models import ML_NODES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def ml_postgres(raw_postgres: PostgresDatabase, tmp_path_factory) -> PostgresDatabase:
    """raw_postgres with identity and marts.ml_features built, the ML models' dbt tests run."""
    work = tmp_path_factory.mktemp("ml_postgres")
    env = raw_postgres.dbt_env()
    assert_dbt_ok(run_dbt(["run", *STAGING_SELECTION, "+int_identity_records"], work, env))
    resolve_identities(destination=raw_postgres.destination())
    # other rooms' models are only run here; their tests are theirs
    assert_dbt_ok(run_dbt(["run", "--select", "+ml_features"], work, env))
    assert_dbt_ok(run_dbt(["build", "--indirect-selection", "cautious", "--select", *ML_NODES], work, env))
    return raw_postgres


def _rows(database: PostgresDatabase, sql: str) -> list[tuple]:
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_features_and_labels_build_on_postgres(ml_postgres):
    snapshots, profiles, labelled, customers = _rows(
        ml_postgres,
        "select count(distinct as_of_date), count(distinct profile_id), count(label_purchase),"
        " sum(case when purchase_count > 0 then 1 else 0 end) from marts.ml_features",
    )[0]
    assert snapshots == 12 and profiles > 300 and labelled > 0 and customers > 0
    mismatches = _rows(
        ml_postgres,
        """
        select count(*) from marts.ml_features as f
        where f.purchase_count <> (
            select count(*) from intermediate.int_ml_purchase_days as p
            where p.profile_id = f.profile_id and p.purchase_date < f.as_of_date
        )
        """,
    )
    assert mismatches == [(0,)]


def test_predictions_source_builds_empty_on_postgres(ml_postgres, tmp_path):
    # before any scoring run there is no ml.predictions: the current-scores model is empty, not an error
    env = ml_postgres.dbt_env()
    assert_dbt_ok(run_dbt(["build", "--select", "int_ml_predictions_current"], tmp_path, env))
    assert _rows(ml_postgres, "select count(*) from intermediate.int_ml_predictions_current") == [(0,)]
