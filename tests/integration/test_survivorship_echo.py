"""revloop's own CRM writes are no evidence for survivorship, on DuckDB and PostgreSQL: a field still holding
the value revloop wrote states nothing, and a record revloop wrote is dated by its last change before that."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from identity import resolve_identities
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt

pytestmark = pytest.mark.slow

STATED = ["int_profile_attributes_stated", "int_profile_attributes_survived"]
ACTIVATION_TABLES = """
create schema if not exists activation;
create table activation.written_values (
    crm varchar, record_id varchar, field varchar, value_json varchar, run_id varchar, written_at timestamptz
);
create table activation.sync_record_baselines (
    crm varchar, record_id varchar, modified_before timestamptz, written_at timestamptz, written_by varchar
);
"""
Query = Callable[[str], list[tuple]]


def _check_echoes_are_ignored(
    query: Query, execute: Callable[[str], None], rebuild: Callable[[], None]
) -> None:
    lead_id, phone = query(
        "select source_record_id, attribute_value from intermediate.int_profile_attributes_stated"
        " where source = 'salesforce_lead' and attribute = 'phone' order by source_record_id limit 1"
    )[0]
    [(contact_id,)] = query(
        "select min(source_record_id) from intermediate.int_profile_attributes_stated"
        " where source = 'hubspot_contact'"
    )
    # revloop wrote the Lead's phone (it came from another record); it last wrote the HubSpot contact after
    # its last change, which a user had made in 2001
    execute(ACTIVATION_TABLES)
    execute(
        "insert into activation.written_values values "
        f"('salesforce', '{lead_id}', 'Phone', '{json.dumps(phone)}', 'r1', '2100-01-01T00:00:00Z');"
        "insert into activation.sync_record_baselines values "
        f"('hubspot', '{contact_id}', '2001-01-01T00:00:00Z', '2100-01-01T00:00:00Z', null)"
    )
    # Salesforce names a record's last author. Lead a: revloop (its user wrote there last) wrote it in 1990
    # by our clock, long before the record's stamp; lead b: revloop wrote it in 2100 by our clock, but its
    # last author is someone else. The author decides, not the clocks.
    (lead_a, author_a, _), (lead_b, _, year_b) = query(
        "select lead_id, updated_by_id, extract(year from updated_at) from staging.stg_salesforce__leads"
        f" where updated_by_id is not null and lead_id <> '{lead_id}' order by lead_id limit 2"
    )
    execute(
        "insert into activation.sync_record_baselines values "
        f"('salesforce', '{lead_a}', '2001-01-01T00:00:00Z', '1990-01-01T00:00:00Z', '{author_a}'),"
        f"('salesforce', '{lead_b}', '2001-01-01T00:00:00Z', '2100-01-01T00:00:00Z', '005REVLOOPUSER0AAA')"
    )
    rebuild()
    lead_statements = query(
        "select attribute from intermediate.int_profile_attributes_stated"
        f" where source_record_id = '{lead_id}'"
    )
    assert ("phone",) not in lead_statements and ("last_name",) in lead_statements
    assert not query(
        "select 1 from intermediate.int_profile_attributes_survived"
        f" where attribute = 'phone' and source_record_id = '{lead_id}'"
    )
    years = query(
        "select distinct extract(year from observed_at) from intermediate.int_profile_attributes_stated"
        f" where source_record_id = '{contact_id}'"
    )
    assert [int(y) for (y,) in years] == [2001]
    for lead, year in ((lead_a, 2001), (lead_b, int(year_b))):
        years = query(
            "select distinct extract(year from observed_at) from intermediate.int_profile_attributes_stated"
            f" where source_record_id = '{lead}'"
        )
        assert [int(y) for (y,) in years] == [year], lead


def test_own_writes_are_no_evidence_on_duckdb(raw_warehouse, tmp_path: Path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(raw_warehouse.path, warehouse)
    env = {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb"}
    assert_dbt_ok(run_dbt(["run", "--select", "+int_identity_records"], tmp_path, env))
    resolve_identities(warehouse)
    assert_dbt_ok(run_dbt(["run", "--select", "+int_profile_attributes_survived"], tmp_path, env))

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def execute(sql: str) -> None:
        with duckdb.connect(str(warehouse)) as connection:
            connection.execute(sql)

    _check_echoes_are_ignored(
        query, execute, lambda: assert_dbt_ok(run_dbt(["run", "--select", *STATED], tmp_path, env))
    )


@pytest.mark.postgres
def test_own_writes_are_no_evidence_on_postgres(raw_postgres, tmp_path: Path):
    env = raw_postgres.dbt_env()
    assert_dbt_ok(run_dbt(["run", *STAGING_SELECTION, "+int_identity_records"], tmp_path, env))
    resolve_identities(destination=raw_postgres.destination())
    assert_dbt_ok(run_dbt(["run", "--select", "+int_profile_attributes_survived"], tmp_path, env))

    def query(sql: str) -> list[tuple]:
        with raw_postgres.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def execute(sql: str) -> None:
        with raw_postgres.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql.replace("varchar", "text"))
            connection.commit()

    try:
        _check_echoes_are_ignored(
            query, execute, lambda: assert_dbt_ok(run_dbt(["run", "--select", *STATED], tmp_path, env))
        )
    finally:
        execute("drop schema if exists activation cascade")
