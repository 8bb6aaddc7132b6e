"""The desired-state sync_* models build and pass their dbt tests on PostgreSQL too."""

import pytest

from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.engines import postgres_only

pytestmark = pytest.mark.slow


@postgres_only
def test_sync_models_build_on_postgres(engine, tmp_path):
    assert_dbt_ok(run_dbt(["build", "--select", "path:models/sync"], tmp_path, engine.dbt_env))
    primary_contacts, accounts = engine.rows(
        "select (select count(*) from activation.sync_hubspot__contacts where is_primary),"
        " (select count(*) from activation.sync_salesforce__accounts)"
    )[0]
    assert primary_contacts > 0 and accounts > 0
