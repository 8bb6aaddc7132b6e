"""Salesforce delta reads that lose nothing: a look-back for late commits, Get Deleted for hard deletes."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from ingestion.salesforce import DATASET_NAME, PIPELINE_NAME, salesforce_source
from ingestion.salesforce.client import SalesforceConnection
from revloop.warehouse import make_pipeline
from tests.fixtures.dbt import assert_dbt_ok, run_dbt


def _run(sf_sandbox, **kwargs):
    connection = SalesforceConnection(
        instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
    )
    make_pipeline(PIPELINE_NAME, DATASET_NAME).run(salesforce_source(connection, objects=("Lead",), **kwargs))


def _sql(warehouse, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def _lead(i: int, modstamp: datetime) -> dict:
    return {"LastName": f"Late{i}", "Company": "Acme", "Email": f"l{i}@acme.test",
            "CreatedDate": modstamp, "SystemModstamp": modstamp}


@pytest.mark.parametrize(("lookback_seconds", "picked_up"), [(None, True), (0, False)])
def test_a_late_commit_with_an_older_modstamp_is_read_by_the_next_run(
    sf_sandbox, warehouse, lookback_seconds, picked_up
):
    now = datetime.now(UTC).replace(microsecond=0)
    kwargs = {} if lookback_seconds is None else {"lookback_seconds": lookback_seconds}
    sf_sandbox.emulator.seed("Lead", [_lead(i, now - timedelta(minutes=10 - i)) for i in range(3)])
    _run(sf_sandbox, **kwargs)
    # A long transaction commits after that run, stamped two minutes before the last record it read.
    (late,) = sf_sandbox.emulator.seed("Lead", [_lead(9, now - timedelta(minutes=10))])

    _run(sf_sandbox, **kwargs)

    ids = [row[0] for row in _sql(warehouse, "select id from raw_salesforce.lead")]
    assert (late in ids) is picked_up
    assert len(ids) == len(set(ids)) == 3 + picked_up  # the overlap re-read merges on Id: no doubles


def test_hard_and_soft_deletes_come_from_get_deleted_once_and_leave_staging(
    sf_sandbox, sf_client, warehouse, tmp_path
):
    now = datetime.now(UTC).replace(microsecond=0)
    leads = [_lead(i, now - timedelta(minutes=20)) for i in range(3)]
    kept, soft, hard = sf_sandbox.emulator.seed("Lead", leads)
    _run(sf_sandbox)
    # Get Deleted ignores the seconds of its bounds, so a deletion shows once its minute is over: these
    # are stamped three minutes back (as a late-committing transaction would be), inside the look-back.
    sf_sandbox.emulator.clock = lambda: now - timedelta(minutes=3)
    sf_client.Lead.delete(soft)
    sf_sandbox.emulator.purge("Lead", [hard])  # a hard delete: no query returns it any more

    _run(sf_sandbox)
    _run(sf_sandbox)  # the look-back lists both again: merged on id, not doubled

    deleted = _sql(warehouse, "select id, object_name from raw_salesforce.deleted_records order by id")
    assert deleted == sorted([(soft, "Lead"), (hard, "Lead")])
    assert dict(_sql(warehouse, "select id, is_deleted from raw_salesforce.lead")) == {
        kept: False, soft: True, hard: False,
    }
    assert_dbt_ok(run_dbt(["run", "--select", "stg_salesforce__leads"], tmp_path))
    assert _sql(warehouse, "select lead_id from staging.stg_salesforce__leads") == [(kept,)]


def test_get_deleted_answers_as_documented(sf_sandbox, sf_client):
    now = datetime.now(UTC)
    first, second = sf_sandbox.emulator.seed("Lead", [_lead(i, now) for i in range(2)])
    sf_client.Lead.delete(first)
    sf_sandbox.emulator.purge("Lead", [second])

    body = sf_client.Lead.deleted(now - timedelta(hours=1), now + timedelta(minutes=2))

    assert sorted(item["id"] for item in body["deletedRecords"]) == sorted([first, second])
    assert all(item["deletedDate"].endswith("+0000") for item in body["deletedRecords"])
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert sf_client.query_all(f"SELECT Id FROM Lead WHERE Id = '{second}'")["totalSize"] == 0
    assert sf_client.Lead.deleted(now - timedelta(days=2), now - timedelta(days=1))["deletedRecords"] == []
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_REPLICATION_DATE"):
        sf_client.Lead.deleted(now - timedelta(days=31), now)
