"""revloop's own CRM writes move the change probes' cursors but count as no change; anyone else's do."""

import time

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


def test_salesforce_own_writes_are_no_change_and_a_colleagues_edit_is(sf_sandbox, sf_client, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    ids = sf_sandbox.emulator.seed(
        "Lead", [{"LastName": f"L{i}", "Company": "A", "Status": "Open - Not Contacted"} for i in range(3)]
    )
    connection = SalesforceConnection(
        instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
    )
    sf = salesforce_probe_client(connection)

    def own(record_ids):
        return last_written_at(warehouse, "salesforce", record_ids)

    cursor = probe_salesforce(sf, ["Lead"], {}, own).cursor({})
    time.sleep(0.01)
    _write(
        warehouse,
        sf_client,
        None,
        [
            RecordWrite("salesforce", "Lead", "update", f"k{i}", i, {"Title": "CTO"}, {}, {"Title": "CTO"})
            for i in ids
        ],
    )
    after_sync = probe_salesforce(sf, ["Lead"], cursor, own)
    assert after_sync.changed == [] and after_sync.markers["Lead"] > cursor["Lead"]
    cursor = after_sync.cursor(cursor)
    assert probe_salesforce(sf, ["Lead"], cursor, None).changed == []

    time.sleep(OWN_WRITE_SLACK.total_seconds() + 0.05)
    sf_client.Lead.update(ids[2], {"Title": "CEO"})
    assert probe_salesforce(sf, ["Lead"], cursor, own).changed == ["Lead"]


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
