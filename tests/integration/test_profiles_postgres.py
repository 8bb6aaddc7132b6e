"""The profile models on PostgreSQL: raw world -> dbt -> identity resolution -> dbt --target postgres, with
the profile models' dbt tests, then the same survivorship and counts the DuckDB tests check."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from revloop.config import DEFAULT_CONFIG_DIR
from revloop.config.survivorship import SurvivorshipConfig
from tests.fixtures.postgres import BuiltPostgres, PostgresDatabase, database_copy
from tests.integration.test_profiles_models import PROFILE_NODES, _expected_winners

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def profiles_postgres(built_postgres_template: BuiltPostgres, tmp_path_factory) -> Iterator[PostgresDatabase]:
    """A copy of the run's built PostgreSQL database, the profile models' dbt tests having passed."""
    work = tmp_path_factory.mktemp("profiles_postgres")
    selection = ["--indirect-selection", "cautious", "--select", *PROFILE_NODES]
    built_postgres_template.dbt.assert_tests_passed(selection, work)
    with database_copy(built_postgres_template.template, "revloop_test_profiles") as database:
        yield database


def _rows(database: PostgresDatabase, sql: str) -> list[tuple]:
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_one_profile_per_resolved_profile_on_postgres(profiles_postgres):
    profiles = _rows(profiles_postgres, "select profile_id from marts.customer_profiles")
    resolved = _rows(profiles_postgres, "select distinct profile_id from marts.identity_links")
    assert len(profiles) == len({r[0] for r in profiles}) == len(resolved) > 300
    stages = {r[0] for r in _rows(profiles_postgres, "select lifecycle_stage from marts.customer_profiles")}
    assert {"customer", "lead"} <= stages


def test_survivorship_follows_the_config_on_postgres(profiles_postgres):
    config = SurvivorshipConfig.model_validate(
        yaml.safe_load((Path(DEFAULT_CONFIG_DIR) / "survivorship.yml").read_text())
    )
    stated = _rows(
        profiles_postgres,
        "select profile_id, attribute, attribute_value, source, source_record_id, observed_at"
        " from intermediate.int_profile_attributes_stated",
    )
    survived = {
        (p, a): (v, s)
        for p, a, v, s in _rows(
            profiles_postgres,
            "select profile_id, attribute, attribute_value, source"
            " from intermediate.int_profile_attributes_survived",
        )
    }
    assert len(survived) > 1000
    assert survived == _expected_winners(stated, config)


def test_engagement_history_adds_up_to_the_resolved_messages_on_postgres(profiles_postgres):
    history = dict(_rows(
        profiles_postgres, "select channel, sum(touch_count) from marts.engagement_history group by channel"
    ))
    messages = dict(_rows(
        profiles_postgres, "select channel, count(*) from intermediate.int_event_messages_resolved group by 1"
    ))
    tasks = _rows(
        profiles_postgres,
        "select count(*) from staging.stg_salesforce__tasks as tasks"
        " join intermediate.int_identities_resolved as ids"
        " on ids.source_system = 'salesforce' and ids.source_id = tasks.who_id",
    )[0][0]
    assert history == {**messages, "sales": tasks}
    devices = {r[0] for r in _rows(profiles_postgres, "select device_type from marts.customer_profiles")}
    assert {"mobile", "desktop"} <= devices
