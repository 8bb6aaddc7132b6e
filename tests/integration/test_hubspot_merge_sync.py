"""A HubSpot merge between runs: identity and the sync follow the new record, never writing to an old id."""

import duckdb
import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import PublicMergeInput, SimplePublicObjectInputForCreate

from benchmarks.sync import build_warehouse, duplicates, log_positions, run_sync_once
from sandbox.runner import SANDBOX_TOKEN, Sandbox
from sandbox.world import generate_world

pytestmark = pytest.mark.slow

WRITES = ("POST", "PATCH", "PUT", "DELETE")
READS = ("/search", "/batch/read")


def _linked_contact(sandbox) -> tuple[str, str]:
    """A live HubSpot contact and the Salesforce record whose HubSpot_Id__c names it."""
    live = {r["id"] for r in sandbox.hubspot.app.records("contacts")}
    for object_name in ("Contact", "Lead"):
        for record in sandbox.salesforce.app.records(object_name):
            if record.get("HubSpot_Id__c") in live:
                return record["HubSpot_Id__c"], record["Id"]
    raise AssertionError("no Salesforce record names a live HubSpot contact")


def _person_records(sandbox) -> dict[str, int]:
    return {
        "salesforce": sum(len(sandbox.salesforce.app.records(o)) for o in ("Lead", "Contact")),
        "hubspot": len(sandbox.hubspot.app.records("contacts")),
    }


# two whole syncs and dbt builds around them: over 10 min on a machine busy with other jobs
@pytest.mark.timeout(1200)
def test_a_merged_contact_is_retired_and_never_written_to(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with Sandbox.start(tmp_path / "sandbox", generate_world(people=40, seed=11)) as sandbox:
        build_warehouse(sandbox, warehouse, tmp_path)
        run_sync_once(sandbox, warehouse, log_positions(sandbox))
        loser, salesforce_id = _linked_contact(sandbox)
        hs = HubSpot(
            access_token=SANDBOX_TOKEN, host=sandbox.hubspot.url, ssl_ca_cert=str(sandbox.tls.ca_cert)
        )
        email = hs.crm.contacts.basic_api.get_by_id(loser).properties["email"]
        # Someone creates a duplicate of the person and merges the two, keeping the original's values.
        duplicate = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
            properties={"email": f"second.{email}", "firstname": "Duplicate"})).id
        survivor = hs.crm.contacts.basic_api.merge(
            public_merge_input=PublicMergeInput(primary_object_id=loser, object_id_to_merge=duplicate)
        ).id
        before, doubles = _person_records(sandbox), duplicates(sandbox)
        since = log_positions(sandbox)

        build_warehouse(sandbox, warehouse, tmp_path)
        run = run_sync_once(sandbox, warehouse, since)

        log = sandbox.hubspot.app.request_log[since["hubspot"]:]
        writes = [f"{r.method} {r.path} {r.body}" for r in log
                  if r.method in WRITES and not r.path.endswith(READS)]
        assert not [w for w in writes if loser in w or duplicate in w]  # no write to an old id
        assert _person_records(sandbox) == before  # doubled: no record created for the merged person
        assert run.duplicates == doubles
    with duckdb.connect(str(warehouse), read_only=True) as con:
        merges = con.execute("select id, merged_into_id from raw_hubspot.contact_merges").fetchall()
        links = con.execute(
            "select source_id, profile_id from marts.identity_links where source_system = 'hubspot'"
        ).fetchall()
        salesforce_profile = con.execute(
            "select profile_id from marts.identity_links where source_id = ?", [salesforce_id]
        ).fetchall()
    assert sorted(merges) == sorted([(loser, survivor), (duplicate, survivor)])
    linked = dict(links)
    assert loser not in linked and duplicate not in linked  # retired
    assert [(linked[survivor],)] == salesforce_profile  # lost: nothing; the survivor joins the same person
