"""Records that change identity or vanish behind ingestion's back: late commits, purges, merges.

Each test plants the fault in the sandbox with the real client, ingests, and states what was lost (nothing)
and what was doubled (nothing).
"""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from hubspot.crm.contacts import PublicMergeInput

from ingestion.hubspot import HubSpotConnection, hubspot_source
from ingestion.hubspot import settings as hs_settings
from ingestion.salesforce import DATASET_NAME, PIPELINE_NAME, salesforce_source
from ingestion.salesforce.client import SalesforceConnection
from revloop.warehouse import make_pipeline
from tests.fixtures.dbt import assert_dbt_ok, run_dbt


def _sql(warehouse, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def _run_salesforce(sf_sandbox, **kwargs) -> None:
    connection = SalesforceConnection(
        instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
    )
    info = make_pipeline(PIPELINE_NAME, DATASET_NAME).run(
        salesforce_source(connection, objects=("Lead",), **kwargs)
    )
    assert not info.has_failed_jobs


def _lead(i: int, modstamp: datetime | None = None) -> dict:
    stamps = {} if modstamp is None else {"CreatedDate": modstamp, "SystemModstamp": modstamp}
    return {"LastName": f"Lead{i}", "Company": "Acme", "Email": f"l{i}@acme.test", **stamps}


@pytest.mark.parametrize("get_updated", [True, False])
def test_a_commit_later_than_the_look_back_is_read_through_get_updated(sf_sandbox, warehouse, get_updated):
    emulator = sf_sandbox.emulator
    now = datetime.now(UTC).replace(microsecond=0)
    # A long transaction began 20 minutes ago and is still open while the first run reads.
    emulator.clock = lambda: now - timedelta(minutes=20)
    started = emulator.begin_transaction()
    emulator.clock = lambda: datetime.now(UTC)
    early = emulator.seed("Lead", [_lead(i, now - timedelta(minutes=3 - i)) for i in range(3)])
    _run_salesforce(sf_sandbox, get_updated=get_updated)
    # It commits now: its record is stamped 20 minutes back, far before the 5-minute look-back.
    (late,) = emulator.commit(started, "Lead", [_lead(9)])
    later = emulator.seed("Lead", [_lead(10, now + timedelta(seconds=1))])

    _run_salesforce(sf_sandbox, get_updated=get_updated)
    _run_salesforce(sf_sandbox, get_updated=get_updated)  # nothing new: nothing loaded twice

    ids = [row[0] for row in _sql(warehouse, "select id from raw_salesforce.lead")]
    assert len(ids) == len(set(ids))  # doubled: nothing
    assert set(ids) >= set(early + later)
    assert (late in ids) is get_updated  # lost: nothing with Get Updated; the late record without it


def test_records_purged_beyond_get_deleted_window_are_marked_by_the_id_reconciliation(
    sf_sandbox, sf_client, warehouse, tmp_path
):
    emulator = sf_sandbox.emulator
    now = datetime.now(UTC).replace(microsecond=0)
    emulator.clock = lambda: now - timedelta(days=40)
    kept, purged_old, binned = emulator.seed("Lead", [_lead(i) for i in range(3)])
    _run_salesforce(sf_sandbox)
    # 39 days ago, while revloop was not running: one record purged, another soft-deleted (recycle bin).
    emulator.clock = lambda: now - timedelta(days=39)
    emulator.purge("Lead", [purged_old])
    sf_client.Lead.delete(binned)
    emulator.clock = lambda: now
    (fresh,) = emulator.seed("Lead", [_lead(3)])

    _run_salesforce(sf_sandbox)  # hourly: Get Deleted reaches back 29 days only, the purge stays unseen
    assert _sql(warehouse, "select count(*) from information_schema.tables "
                           "where table_name = 'deleted_records'") == [(0,)]  # no deletion seen at all

    _run_salesforce(sf_sandbox, reconcile_ids=True)
    _run_salesforce(sf_sandbox, reconcile_ids=True)  # a second reconciliation adds nothing twice

    deleted = _sql(warehouse, "select id, detected_by from raw_salesforce.deleted_records order by id")
    assert deleted == [(purged_old, "reconciliation")]
    assert_dbt_ok(run_dbt(["run", "--select", "stg_salesforce__leads"], tmp_path))
    staged = sorted(row[0] for row in _sql(warehouse, "select lead_id from staging.stg_salesforce__leads"))
    assert staged == sorted([kept, fresh])  # the bin's record leaves through is_deleted, as before
    raw = [row[0] for row in _sql(warehouse, "select id from raw_salesforce.lead")]
    assert sorted(raw) == sorted([kept, purged_old, binned, fresh])  # lost from raw: nothing


def _run_hubspot(hs_sandbox, warehouse) -> None:
    connection = HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert))
    pipeline = make_pipeline(hs_settings.PIPELINE_NAME, hs_settings.DATASET_NAME, warehouse)
    assert not pipeline.run(hubspot_source(connection)).has_failed_jobs


def test_a_hubspot_merge_retires_both_old_ids_in_raw_and_staging(hs_sandbox, hs_client, warehouse, tmp_path):
    emulator = hs_sandbox.emulator
    ana, ana_again, bob = emulator.seed("contacts", [
        {"properties": {"email": "ana@acme.test", "firstname": "Ana", "lastname": "Lima"}},
        {"properties": {"email": "ana.lima@acme.test", "firstname": "Ana", "phone": "+15550101"}},
        {"properties": {"email": "bob@acme.test", "firstname": "Bob"}},
    ])
    (company,) = emulator.seed("companies", [{"properties": {"name": "Acme", "domain": "acme.test"}}])
    emulator.seed_association("contacts", ana_again, "companies", company)
    _run_hubspot(hs_sandbox, warehouse)

    merged = hs_client.crm.contacts.basic_api.merge(
        public_merge_input=PublicMergeInput(primary_object_id=ana, object_id_to_merge=ana_again)
    )
    survivor = merged.id
    # As HubSpot answers: a new record; the old ids read as it; it names them in hs_merged_object_ids.
    assert survivor not in (ana, ana_again)
    assert hs_client.crm.contacts.basic_api.get_by_id(ana_again).id == survivor
    read = hs_client.crm.contacts.basic_api.get_by_id(survivor, properties=["hs_merged_object_ids", "phone"])
    assert sorted(read.properties["hs_merged_object_ids"].split(";")) == sorted([ana, ana_again])
    assert read.properties["phone"] == "+15550101"  # the merged record's values fill the primary's gaps

    _run_hubspot(hs_sandbox, warehouse)
    _run_hubspot(hs_sandbox, warehouse)

    merges = _sql(warehouse, "select id, merged_into_id from raw_hubspot.contact_merges order by id")
    assert merges == sorted([(ana, survivor), (ana_again, survivor)])
    raw = _sql(warehouse, "select id, email from raw_hubspot.contacts order by id")
    assert [row[0] for row in raw] == sorted([ana, ana_again, bob, survivor], key=int)  # lost: nothing
    assert_dbt_ok(run_dbt(["run", "--select", "stg_hubspot__contacts", "stg_hubspot__companies",
                           "stg_hubspot__contact_company_associations"], tmp_path))
    staged = _sql(warehouse, "select contact_id, email from staging.stg_hubspot__contacts order by 1")
    assert staged == [(bob, "bob@acme.test"), (survivor, "ana@acme.test")]  # doubled: nothing
    links = _sql(warehouse, "select distinct contact_id, company_id "
                            "from staging.stg_hubspot__contact_company_associations")
    assert links == [(survivor, company)]


def test_a_salesforce_record_naming_a_merged_hubspot_contact_names_the_survivor_in_staging(
    sf_sandbox, hs_sandbox, hs_client, warehouse, tmp_path
):
    emulator = hs_sandbox.emulator
    first, second = emulator.seed("contacts", [
        {"properties": {"email": "cy@acme.test"}}, {"properties": {"email": "cy2@acme.test"}},
    ])
    sf_sandbox.emulator.seed("Lead", [{**_lead(1), "HubSpot_Id__c": second}])
    _run_salesforce(sf_sandbox)
    hs_client.crm.contacts.basic_api.merge(
        public_merge_input=PublicMergeInput(primary_object_id=first, object_id_to_merge=second)
    )
    _run_hubspot(hs_sandbox, warehouse)
    (survivor,) = {row[0] for row in _sql(warehouse, "select merged_into_id from raw_hubspot.contact_merges")}

    assert_dbt_ok(run_dbt(["run", "--select", "stg_salesforce__leads"], tmp_path))

    assert _sql(warehouse, "select hubspot_id from staging.stg_salesforce__leads") == [(survivor,)]
