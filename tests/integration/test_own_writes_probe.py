"""revloop's own CRM writes move the change probes' cursors but count as no change; anyone else's do.

HubSpot names no author for an app's write: there a change soon after revloop's write is revloop's own.
Salesforce does (LastModifiedById): a colleague's edit in the very second of revloop's write still counts."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count

import duckdb
from hubspot.crm.contacts import SimplePublicObjectInput

from activation.plan import Plan, RecordWrite
from activation.store import ActivationStore, last_written_at
from activation.sync import run_plan
from ingestion.change_probe import (
    OWN_WRITE_SLACK,
    hubspot_probe_client,
    probe_hubspot,
    probe_salesforce,
    salesforce_probe_client,
)
from ingestion.hubspot.client import HubSpotConnection
from ingestion.salesforce.client import SalesforceConnection
from revloop.salesforce_user import integration_user_id
from sandbox.salesforce.store import INTEGRATION_USER_ID
from tests.fixtures.salesforce import salesforce_client

SECOND = datetime(2026, 12, 6, 9, 0, 0, tzinfo=UTC)


def _write(warehouse, sf, hs, writes) -> None:
    """One sync run's writes, remembered in the warehouse's activation.written_values."""
    connection = duckdb.connect(str(warehouse))
    try:
        report = run_plan(Plan("contact", writes), ActivationStore(connection), sf, hs, "contacts")
        assert report.errors == [] and set(report.statuses) == {"updated"}
    finally:
        connection.close()


def test_hubspot_own_writes_are_no_change_and_a_colleagues_edit_is(hs_sandbox, hs_client, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    ids = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": f"p{i}@x.io"}} for i in range(3)])
    hs = hubspot_probe_client(HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert)))

    def own(record_ids):
        return last_written_at(warehouse, "hubspot", record_ids)

    cursor = probe_hubspot(hs, ["contacts"], {}, own).cursor({})
    time.sleep(0.01)
    _write(
        warehouse,
        None,
        hs_client,
        [
            RecordWrite(
                "hubspot", "contacts", "update", f"k{i}", i, {"jobtitle": "CTO"}, {}, {"jobtitle": "CTO"}
            )
            for i in ids
        ],
    )
    after_sync = probe_hubspot(hs, ["contacts"], cursor, own)
    assert after_sync.changed == [] and after_sync.markers["contacts"] > cursor["contacts"]
    cursor = after_sync.cursor(cursor)

    time.sleep(OWN_WRITE_SLACK.total_seconds() + 0.05)  # a change this close to the sync waits for the hour
    hs_client.crm.contacts.basic_api.update(ids[1], SimplePublicObjectInput(properties={"jobtitle": "CEO"}))
    assert probe_hubspot(hs, ["contacts"], cursor, own).changed == ["contacts"]
    # without the warehouse's memory the sync's own writes would have been a change
    assert probe_hubspot(hs, ["contacts"], probe_hubspot(hs, ["contacts"], {}).cursor({})).changed == []


def test_salesforce_own_writes_are_no_change_and_a_colleagues_edit_in_the_same_second_is(
    sf_sandbox_factory, tmp_path
):
    # one clock tick per stamp, all inside one second: only the author tells the writes apart
    ticks = count()
    sandbox = sf_sandbox_factory(clock=lambda: SECOND + timedelta(milliseconds=next(ticks)))
    rep = salesforce_client(replace(sandbox, token="rep-token"))
    rep_id = sandbox.emulator.add_user("rep@acme.io", "rep-token", "Rep")
    lead = {"Company": "A", "Status": "Open - Not Contacted", "LastModifiedById": rep_id}
    ids = sandbox.emulator.seed("Lead", [{"LastName": f"L{i}", **lead} for i in range(3)])
    connection = SalesforceConnection(
        instance_url=sandbox.url, access_token=sandbox.token, ca_bundle=sandbox.ca_bundle
    )
    sf = salesforce_probe_client(connection)
    own_user = integration_user_id(sf)
    assert own_user == INTEGRATION_USER_ID and integration_user_id(rep) == rep_id

    cursor = probe_salesforce(sf, ["Lead"], {}, own_user).cursor({})
    _write(
        tmp_path / "warehouse.duckdb",
        salesforce_client(sandbox),
        None,
        [
            RecordWrite("salesforce", "Lead", "update", f"k{i}", i, {"Title": "CTO"}, {}, {"Title": "CTO"})
            for i in ids
        ],
    )
    after_sync = probe_salesforce(sf, ["Lead"], cursor, own_user)
    assert after_sync.changed == [] and after_sync.markers["Lead"] > cursor["Lead"]
    cursor = after_sync.cursor(cursor)
    # without knowing its user, revloop's writes are changes like any other
    assert probe_salesforce(sf, ["Lead"], {"Lead": SECOND.isoformat()}, None).changed == ["Lead"]

    rep.Lead.update(ids[2], {"Title": "CEO"})  # the same second as revloop's writes
    edited = probe_salesforce(sf, ["Lead"], cursor, own_user)
    assert edited.changed == ["Lead"]
    assert datetime.fromisoformat(edited.markers["Lead"]) - SECOND < timedelta(seconds=1)


def test_a_warehouse_held_by_a_run_counts_every_change(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = duckdb.connect(str(warehouse))
    ActivationStore(holder)
    try:
        # same process, other configuration: DuckDB refuses as another process's lock would
        assert last_written_at(warehouse, "hubspot", ["1"]) is None
    finally:
        holder.close()
    assert last_written_at(warehouse, "hubspot", ["1"]) == {}
    assert last_written_at(tmp_path / "missing.duckdb", "hubspot", ["1"]) == {}
