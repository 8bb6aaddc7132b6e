"""The desired-state sync_* models build and pass their dbt tests on PostgreSQL too."""

import pytest

from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.postgres import PostgresDatabase
from tests.integration.test_profiles_postgres import profiles_postgres  # noqa: F401 (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_sync_models_build_on_postgres(profiles_postgres: PostgresDatabase, tmp_path):  # noqa: F811
    env = profiles_postgres.dbt_env()
    assert_dbt_ok(run_dbt(["build", "--select", "path:models/sync"], tmp_path, env))
    with profiles_postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select (select count(*) from activation.sync_hubspot__contacts where is_primary),"
            " (select count(*) from activation.sync_salesforce__accounts)"
        )
        primary_contacts, accounts = cursor.fetchone()
    assert primary_contacts > 0 and accounts > 0
