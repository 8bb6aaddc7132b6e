"""The ML feature models on PostgreSQL: raw world -> dbt -> identity -> dbt --target postgres, with their dbt
tests."""

from collections.abc import Iterator

import pytest

from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.postgres import BuiltPostgres, PostgresDatabase, database_copy
from tests.integration.test_ml_models import ML_NODES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def ml_postgres(built_postgres_template: BuiltPostgres, tmp_path_factory) -> Iterator[PostgresDatabase]:
    """A copy of the run's built PostgreSQL database (marts.ml_features included), the ML models' dbt tests
    having passed."""
    selection = ["--indirect-selection", "cautious", "--select", *ML_NODES]
    built_postgres_template.dbt.assert_tests_passed(selection, tmp_path_factory.mktemp("ml_postgres"))
    with database_copy(built_postgres_template.template, "revloop_test_ml") as database:
        yield database


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
