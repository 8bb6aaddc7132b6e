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
    pipeline = make_pipeline(PIPELINE_NAME, DATASET_NAME)
    pipeline.run(salesforce_source(connection, objects=("Lead",), **kwargs))
    return pipeline


def _sql(warehouse, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def _lead(i: int, modstamp: datetime | None) -> dict:
    stamps = {} if modstamp is None else {"CreatedDate": modstamp, "SystemModstamp": modstamp}
    return {"LastName": f"Late{i}", "Company": "Acme", "Email": f"l{i}@acme.test", **stamps}


@pytest.mark.parametrize(("lookback_seconds", "picked_up"), [(None, True), (0, False)])
def test_a_late_commit_with_an_older_modstamp_is_read_by_the_next_run(
    sf_sandbox, warehouse, lookback_seconds, picked_up
):
    emulator = sf_sandbox.emulator
    now = datetime.now(UTC).replace(microsecond=0)
    # Without Get Updated the look-back alone catches it (Get Updated has its own test: vanishing records).
    kwargs = {"get_updated": False}
    if lookback_seconds is not None:
        kwargs["lookback_seconds"] = lookback_seconds
    # A transaction opened ten minutes ago is still open while the first run reads.
    emulator.clock = lambda: now - timedelta(minutes=10)
    started = emulator.begin_transaction()
    emulator.clock = lambda: datetime.now(UTC)
    emulator.seed("Lead", [_lead(i, now - timedelta(minutes=10 - i)) for i in range(1, 3)])
    _run(sf_sandbox, **kwargs)
    # It commits after that run, stamped a minute before the last record the run read.
    (late,) = emulator.commit(started, "Lead", [_lead(9, None)])

    _run(sf_sandbox, **kwargs)

    ids = [row[0] for row in _sql(warehouse, "select id from raw_salesforce.lead")]
    assert (late in ids) is picked_up
    assert len(ids) == len(set(ids)) == 2 + picked_up  # the overlap re-read merges on Id: no doubles


def test_an_object_nobody_changed_is_not_read_again_after_a_burst(sf_sandbox, sf_client, warehouse):
    now = datetime.now(UTC).replace(microsecond=0)
    # a burst of changes (an import, or revloop's own writes) 20 minutes ago, then nothing
    stamps = [now - timedelta(minutes=20) + timedelta(seconds=i) for i in range(40)]
    burst = sf_sandbox.emulator.seed("Lead", [_lead(i, stamp) for i, stamp in enumerate(stamps)])
    _run(sf_sandbox)

    quiet = _run(sf_sandbox)
    sf_client.Lead.update(burst[0], {"Title": "CFO"})
    changed = _run(sf_sandbox)

    # the burst was stamped before Get Updated's last coverage: read once, not again on every run
    assert quiet.last_trace.last_normalize_info.row_counts.get("lead", 0) == 0
    assert changed.last_trace.last_normalize_info.row_counts.get("lead", 0) == 1
    assert _sql(warehouse, "select count(*), count(distinct id) from raw_salesforce.lead") == [(40, 40)]
    assert _sql(warehouse, f"select title from raw_salesforce.lead where id = '{burst[0]}'") == [("CFO",)]


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
