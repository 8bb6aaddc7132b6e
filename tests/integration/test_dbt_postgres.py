"""The whole dbt project on PostgreSQL: the raw world loaded by the same dlt sources, then `dbt build
--target postgres` before identity resolution, the identity step through a dlt postgres destination, and
`dbt build` of everything after it, every dbt test included."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.dbt import compile_inline
from tests.fixtures.postgres import BuiltPostgres, PostgresDatabase, database_copy
from tests.integration.test_dbt_staging import (
    INTERFACE,
    LIVE_RECORDS,
    MACRO_CASES_SQL,
    ROW_RULES_SQL,
    check_macro_results,
    check_row_rules,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

@pytest.fixture(scope="module")
def dbt_folder(tmp_path_factory) -> Path:
    """dbt's target and log folders for this module."""
    return tmp_path_factory.mktemp("dbt_postgres")


@pytest.fixture(scope="module")
def built_postgres(built_postgres_template: BuiltPostgres, dbt_folder: Path) -> Iterator[PostgresDatabase]:
    """A copy of the run's PostgreSQL database with every model built by dbt, every dbt test having passed."""
    built_postgres_template.dbt.assert_tests_passed([], dbt_folder / "ls")
    with database_copy(built_postgres_template.template, "revloop_test_dbt") as database:
        yield database


def test_the_marts_are_filled_on_postgres(built_postgres):
    for mart in ("customer_profiles", "identity_links", "lead_score_factors", "touchpoints"):
        assert _scalar(built_postgres, f"select count(*) from marts.{mart}") > 0, mart
    assert _scalar(
        built_postgres,
        "select count(*) from marts.customer_profiles p where p.lead_score <> "
        "(select coalesce(sum(points), 0) from marts.lead_score_factors f where f.profile_id = p.profile_id)",
    ) == 0


def _scalar(database: PostgresDatabase, sql: str):
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_staging_builds_on_postgres_with_every_live_record_once(built_postgres):
    with built_postgres.connect() as connection, connection.cursor() as cursor:
        for model, columns in INTERFACE.items():
            cursor.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'staging' and table_name = %s",
                [model],
            )
            present = {row[0] for row in cursor.fetchall()}
            assert set(columns) <= present, f"{model} lacks {set(columns) - present}"
        for model, (table, key, live) in LIVE_RECORDS.items():
            cursor.execute(f"select count(distinct {key}) from {table} where {live}")
            expected = cursor.fetchone()[0]
            cursor.execute(f"select count(*) from staging.{model}")
            assert cursor.fetchone()[0] == expected > 0, model


def test_json_traits_and_properties_are_extracted_on_postgres(built_postgres):
    traits_sent = _scalar(
        built_postgres,
        "select count(*) from raw_events.website where type = 'identify'"
        " and coalesce(traits::jsonb ->> 'firstName', traits::jsonb ->> 'first_name') is not null",
    )
    assert traits_sent > 0
    assert traits_sent == _scalar(
        built_postgres, "select count(trait_first_name) from staging.stg_events__website_messages"
    )
    revenue_sent = _scalar(
        built_postgres, "select sum((properties::jsonb ->> 'revenue')::numeric) from raw_events.offline"
    )
    revenue_staged = _scalar(built_postgres, "select sum(revenue) from staging.stg_events__offline_messages")
    assert revenue_staged == revenue_sent > 0
    bad_domains = "select count(*) from staging.stg_salesforce__accounts where domain ~ '^www[.]|/|[A-Z]'"
    assert _scalar(built_postgres, bad_domains) == 0


def test_cross_adapter_macros_on_postgres(built_postgres, dbt_folder):
    sql = compile_inline(MACRO_CASES_SQL, dbt_folder, built_postgres.dbt_env())
    with built_postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        names = [column.name for column in cursor.description]
        check_macro_results(dict(zip(names, cursor.fetchone(), strict=True)))
        cursor.execute(compile_inline(ROW_RULES_SQL, dbt_folder, built_postgres.dbt_env()))
        check_row_rules(cursor.fetchall())
