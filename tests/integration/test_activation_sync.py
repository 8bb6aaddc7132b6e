"""Two-way sync against both sandbox CRMs with the real clients: conflicts, creates, reruns, bad records."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from activation.crm_state import pair_records, read_hubspot, read_salesforce
from activation.hubspot_writer import write_hubspot
from activation.plan import Plan, RecordWrite, plan_object
from activation.store import ActivationStore
from activation.sync import run_plan
from activation.warehouse_state import created_records
from revloop.config.sync import load_sync_config
from tests.fixtures.salesforce import salesforce_client

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
CONTACT = load_sync_config().objects["contact"]
SF_FIELDS = {
    name: [f.salesforce for f in CONTACT.fields if f.salesforce and f.applies_to(name)]
    + ["Revloop_Id__c", "HubSpot_Id__c"]
    for name in ("Contact", "Lead")
}
HS_FIELDS = [f.hubspot for f in CONTACT.fields if f.hubspot] + ["revloop_id", "salesforce_id"]
SCORES = {"ann@acme.io": 71, "bob@acme.io": 12, "cara@beta.io": 40, "dan@gamma.io": 5}


def _writes(emulator) -> list:
    return [
        r for r in emulator.request_log if r.method in ("POST", "PATCH", "DELETE") and "/search" not in r.path
    ]


@pytest.fixture
def crms(sf_sandbox, sf_client, hs_sandbox, hs_client):
    sf_sandbox.emulator.seed(
        "Contact",
        [
            {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@acme.io", "SystemModstamp": T0},
            {
                "FirstName": "Bob",
                "LastName": "Roy",
                "Email": "bob@acme.io",
                "Title": "CTO",
                "SystemModstamp": T0 + timedelta(hours=2),
            },
        ],
    )
    sf_sandbox.emulator.seed(
        "Lead",
        [
            {
                "FirstName": "Cara",
                "LastName": "Diaz",
                "Email": "cara@beta.io",
                "Company": "Beta",
                "Status": "Open - Not Contacted",
                "SystemModstamp": T0,
            }
        ],
    )
    hs_sandbox.emulator.seed(
        "contacts",
        [
            {
                "properties": {"email": "ann@acme.io", "firstname": "Anna", "lastname": "Lee"},
                "updatedAt": T0 + timedelta(hours=1),
            },
            {
                "properties": {
                    "email": "bob@acme.io",
                    "firstname": "Bob",
                    "lastname": "Roy",
                    "jobtitle": "CEO",
                },
                "updatedAt": T0 + timedelta(hours=1),
            },
            {
                "properties": {
                    "email": "dan@gamma.io",
                    "firstname": "Dan",
                    "lastname": "Fox",
                    "company": "Gamma",
                },
                "updatedAt": T0,
            },
        ],
    )
    return sf_client, hs_client


def _plan(sf, hs, store) -> Plan:
    salesforce = read_salesforce(sf, "Contact", SF_FIELDS["Contact"])
    salesforce += read_salesforce(sf, "Lead", SF_FIELDS["Lead"])
    hubspot = read_hubspot(hs, "contacts", HS_FIELDS)
    email = {"salesforce": "Email", "hubspot": "email"}
    pairs = pair_records(
        salesforce,
        hubspot,
        lambda r: (r.values.get(email[r.crm]) or "").lower() or None,
        lambda key: {"lead_score": SCORES.get(key)},
    )
    # as activation.run does: a default Salesforce gave a Lead revloop created (its Status) is no change
    return plan_object("contact", CONTACT, pairs, store.written(), created=created_records(store.connection))


def test_two_way_sync_then_rerun_sends_nothing(crms, sf_sandbox, hs_sandbox, tmp_path):
    sf, hs = crms
    store = ActivationStore(duckdb.connect(str(tmp_path / "wh.duckdb")))

    dry = run_plan(_plan(sf, hs, store), store, sf, hs, "contacts", dry_run=True)
    assert _writes(sf_sandbox.emulator) == [] and _writes(hs_sandbox.emulator) == []
    assert dry.plan["counts"] == {
        "salesforce.update": 3,
        "salesforce.create": 1,
        "hubspot.update": 3,
        "hubspot.create": 1,
    }

    report = run_plan(_plan(sf, hs, store), store, sf, hs, "contacts")
    assert report.errors == [] and "failed" not in report.statuses

    emulator = sf_sandbox.emulator
    sf_people = {r["Email"]: r for r in emulator.records("Contact") + emulator.records("Lead")}
    hs_people = {r["properties"]["email"]: r for r in hs_sandbox.emulator.records("contacts")}
    # conflicts: HubSpot newer for Ann's first name, Salesforce newer for Bob's title
    assert sf_people["ann@acme.io"]["FirstName"] == "Anna"
    assert hs_people["bob@acme.io"]["properties"]["jobtitle"] == "CTO"
    # creation on the other side, cross ids stored both ways
    assert hs_people["cara@beta.io"]["properties"]["salesforce_id"] == sf_people["cara@beta.io"]["Id"]
    assert sf_people["cara@beta.io"]["HubSpot_Id__c"] == hs_people["cara@beta.io"]["id"]
    dan = sf_people["dan@gamma.io"]
    assert dan["Company"] == "Gamma" and dan["HubSpot_Id__c"] == hs_people["dan@gamma.io"]["id"]
    assert hs_people["dan@gamma.io"]["properties"]["salesforce_id"] == dan["Id"]
    # enriched fields on both sides; the HubSpot property was created through the properties API
    assert sf_people["ann@acme.io"]["Lead_Score__c"] == 71
    assert hs_people["ann@acme.io"]["properties"]["lead_score"] == "71"
    logged = store.connection.execute(
        "select status, count(*) from activation.sync_log group by 1"
    ).fetchall()
    assert dict(logged)["created"] == 2

    sent = len(_writes(emulator)), len(_writes(hs_sandbox.emulator))
    # the store read what revloop wrote once and kept it up to date: as a fresh read of the table has it
    assert store.written() == ActivationStore(store.connection).written() != {}
    rerun = _plan(sf, hs, store)
    assert rerun.writes == [] and rerun.rejections == []
    run_plan(rerun, store, sf, hs, "contacts")
    assert (len(_writes(emulator)), len(_writes(hs_sandbox.emulator))) == sent


def test_missing_salesforce_field_stops_that_object_with_an_admin_message(
    sf_sandbox_factory, hs_client, tmp_path
):
    sandbox = sf_sandbox_factory(with_revloop_fields=False)
    sf = salesforce_client(sandbox)
    [lead_id] = sandbox.emulator.seed(
        "Lead", [{"LastName": "Lee", "Company": "Acme", "Status": "Open - Not Contacted"}]
    )
    write = RecordWrite("salesforce", "Lead", "update", "p1", lead_id, {"Lead_Score__c": 5.0, "Title": "CEO"})
    store = ActivationStore(duckdb.connect(str(tmp_path / "wh.duckdb")))
    report = run_plan(Plan("contact", [write]), store, sf, hs_client, "contacts")
    assert report.statuses == {"failed": 1}
    assert "Lead_Score__c" in report.errors[0] and "Setup > Object Manager > Lead" in report.errors[0]
    assert not any(r.method == "PATCH" for r in sandbox.emulator.request_log)


def test_one_bad_record_does_not_block_the_batch(hs_sandbox, hs_client):
    ids = hs_sandbox.emulator.seed(
        "contacts", [{"properties": {"email": f"p{i}@x.io", "firstname": "P"}} for i in range(5)]
    )
    writes = [
        RecordWrite("hubspot", "contacts", "update", f"k{i}", ids[i], {"firstname": f"Q{i}"})
        for i in range(5)
    ]
    writes[2].fields["email"] = (
        "p4@x.io"  # another contact holds this e-mail: HubSpot refuses the whole batch
    )
    results = write_hubspot(hs_client, "contacts", writes)
    # the CRM refused that record's request alone: refused (held back until it or its record changes)
    assert [r.status for r in results] == ["updated", "updated", "refused", "updated", "updated"]
    assert "409" in results[2].error
    names = {r["id"]: r["properties"]["firstname"] for r in hs_sandbox.emulator.records("contacts")}
    assert [names[i] for i in ids] == ["Q0", "Q1", "P", "Q3", "Q4"]


def test_429_and_503_are_retried_and_the_writes_land(sf_sandbox, hs_sandbox, tmp_path):
    from ingestion.hubspot.client import HubSpotConnection
    from ingestion.salesforce.client import SalesforceConnection, connect

    # the ingestion clients carry the shared retry policy (urllib3 Retry honouring Retry-After)
    sf = connect(
        SalesforceConnection(
            instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
        )
    )
    hs = HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_bundle)).hubspot()
    [lead_id] = sf_sandbox.emulator.seed(
        "Lead", [{"LastName": "Lee", "Company": "A", "Status": "Open - Not Contacted"}]
    )
    [contact_id] = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": "ann@acme.io"}}])
    sf_sandbox.emulator.faults.fail_next(503, 2, path_prefix="/services/data/v54.0/composite")
    hs_sandbox.emulator.faults.fail_next(429, 1, path_prefix="/crm/v3/objects/contacts/batch")
    writes = [
        RecordWrite("salesforce", "Lead", "update", "p1", lead_id, {"Title": "CEO"}),
        RecordWrite("hubspot", "contacts", "update", "p1", contact_id, {"jobtitle": "CEO"}),
    ]
    store = ActivationStore(duckdb.connect(str(tmp_path / "wh.duckdb")))
    report = run_plan(Plan("contact", writes), store, sf, hs, "contacts")
    assert report.statuses == {"updated": 2}
    assert sf_sandbox.emulator.records("Lead")[0]["Title"] == "CEO"
    assert hs_sandbox.emulator.records("contacts")[0]["properties"]["jobtitle"] == "CEO"
    assert [r.status for r in sf_sandbox.emulator.request_log if "composite" in r.path] == [503, 503, 200]
    assert [r.status for r in hs_sandbox.emulator.request_log if "/batch/" in r.path] == [429, 200]


@pytest.mark.parametrize("request_budget", [1, 2])
def test_api_limit_mid_run_stops_salesforce_then_rerun_creates_no_duplicates_and_loses_nothing(
    sf_sandbox, sf_client, hs_client, tmp_path, request_budget
):
    emulator = sf_sandbox.emulator
    emulator.seed(
        "Lead",
        [
            {
                "LastName": name,
                "Company": "Acme",
                "Email": f"{name}@acme.io",
                "Status": "Open - Not Contacted",
            }
            for name in ("a", "b", "c", "d")
        ],
    )
    store = ActivationStore(duckdb.connect(str(tmp_path / "wh.duckdb")))

    def pairs():
        salesforce = read_salesforce(sf_client, "Lead", SF_FIELDS["Lead"])
        hubspot = read_hubspot(hs_client, "contacts", HS_FIELDS)
        return pair_records(salesforce, hubspot, lambda r: r.values.get("Email") or r.values.get("email"))

    # the org's daily API limit runs out part-way (batches of 2: HubSpot creates, then Salesforce links):
    # its 403 stops the Salesforce write-back with one error, HubSpot's goes on
    before = pairs()
    emulator.request_limit = emulator.requests_used + request_budget
    report = run_plan(
        plan_object("contact", CONTACT, before, {}), store, sf_client, hs_client, "contacts", batch_size=2
    )
    assert len(report.errors) == 1 and "REQUEST_LIMIT_EXCEEDED" in report.errors[0]
    linked = sum(1 for r in emulator.records("Lead") if r["HubSpot_Id__c"])
    assert linked == 2 * (request_budget - 1)
    limited = [r for r in emulator.request_log if r.status == 403]
    assert len(limited) == 1  # no batch splitting, no further call
    emulator.request_limit = None

    # the same stale state planned again resends nothing that landed in HubSpot; the links that did not
    # land in Salesforce come from the HubSpot records' salesforce_id once ingestion has read them
    assert {w.crm for w in plan_object("contact", CONTACT, before, store.written()).writes} == {"salesforce"}
    rerun = plan_object("contact", CONTACT, pairs(), store.written())
    run_plan(rerun, store, sf_client, hs_client, "contacts")
    contacts = hs_sandbox_contacts(hs_client)
    assert sorted(c.properties["email"] for c in contacts) == [
        "a@acme.io",
        "b@acme.io",
        "c@acme.io",
        "d@acme.io",
    ]
    by_email = {c.properties["email"]: c.id for c in contacts}
    assert {r["Email"]: r["HubSpot_Id__c"] for r in emulator.records("Lead")} == by_email


def hs_sandbox_contacts(hs):
    return hs.crm.contacts.basic_api.get_page(limit=100, properties=["email"]).results
