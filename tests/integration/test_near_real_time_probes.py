"""The change probes with the real CRM clients against the sandbox: changes seen, failures skipped."""

import time
from datetime import UTC, datetime

from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

from ingestion.change_probe import (
    NOTHING_YET,
    hubspot_probe_client,
    probe_hubspot,
    probe_salesforce,
    salesforce_probe_client,
)
from ingestion.hubspot.client import HubSpotConnection
from ingestion.salesforce.client import SalesforceConnection

OBJECT_TYPES = ["contacts", "companies", "deals"]


def _salesforce(sandbox, token: str | None = None) -> SalesforceConnection:
    return SalesforceConnection(instance_url=sandbox.url, access_token=token or sandbox.token,
                                ca_bundle=sandbox.ca_bundle)


def test_salesforce_probe_sees_creates_updates_and_deletes(sf_sandbox, sf_client):
    first = sf_client.Lead.create({"LastName": "One", "Company": "Acme"})["id"]
    sf = salesforce_probe_client(_salesforce(sf_sandbox))
    baseline = probe_salesforce(sf, ["Lead", "Contact"], {})
    assert baseline.changed == [] and baseline.markers["Contact"] == NOTHING_YET  # no Contact yet
    cursor = baseline.cursor({})
    assert probe_salesforce(sf, ["Lead", "Contact"], cursor).changed == []

    for change in (
        lambda: sf_client.Lead.update(first, {"Title": "CTO"}),
        lambda: sf_client.Contact.create({"LastName": "Two"}),
        lambda: sf_client.Lead.delete(first),
    ):
        time.sleep(0.01)  # SystemModstamp has millisecond precision
        change()
        result = probe_salesforce(sf, ["Lead", "Contact"], cursor)
        assert result.changed, "every change moves an object's newest SystemModstamp"
        cursor = result.cursor(cursor)
    assert probe_salesforce(sf, ["Lead", "Contact"], cursor).changed == []


def test_salesforce_probe_skips_on_a_bad_token(sf_sandbox):
    sf = salesforce_probe_client(_salesforce(sf_sandbox, token="expired"))
    result = probe_salesforce(sf, ["Lead"], {"Lead": "2026-01-01T00:00:00+00:00"})
    assert "rejected the credentials" in result.skipped["Lead"]
    assert result.cursor({"Lead": "2026-01-01T00:00:00+00:00"}) == {"Lead": "2026-01-01T00:00:00+00:00"}


def test_hubspot_probe_sees_creates_and_updates_with_one_search_each(hs_sandbox, hs_client):
    created = hs_client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "a@example.com"})
    )
    hs = hubspot_probe_client(HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert)))
    baseline = probe_hubspot(hs, OBJECT_TYPES, {})
    assert baseline.changed == [] and baseline.markers["deals"] == NOTHING_YET
    cursor = baseline.cursor({})

    assert probe_hubspot(hs, OBJECT_TYPES, cursor).changed == []
    time.sleep(0.01)
    hs_client.crm.contacts.basic_api.update(created.id, SimplePublicObjectInput(properties={"phone": "1"}))
    updated = probe_hubspot(hs, OBJECT_TYPES, cursor)
    assert updated.changed == ["contacts"]
    assert datetime.fromisoformat(updated.markers["contacts"]) > datetime.fromisoformat(cursor["contacts"])
    assert probe_hubspot(hs, OBJECT_TYPES, updated.cursor(cursor)).changed == []

    searches = hs_sandbox.emulator.requests_to("/crm/v3/objects/contacts/search")
    assert searches and all(r.status == 200 for r in searches)


def test_hubspot_probe_skips_on_a_bad_token_and_on_throttling(hs_sandbox):
    connection = HubSpotConnection("wrong", hs_sandbox.url, str(hs_sandbox.ca_cert))
    result = probe_hubspot(hubspot_probe_client(connection), ["contacts"], {})
    assert result.skipped["contacts"].startswith("HubSpot search of contacts failed: HTTP 401")
    assert "HUBSPOT_ACCESS_TOKEN" in result.skipped["contacts"] and "wrong" not in result.skipped["contacts"]

    hs_sandbox.emulator.faults.fail_next(429, count=5)
    good = hubspot_probe_client(HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert)))
    previous = {"contacts": datetime(2026, 1, 1, tzinfo=UTC).isoformat()}
    throttled = probe_hubspot(good, ["contacts"], previous)
    assert "HTTP 429" in throttled.skipped["contacts"]
    assert throttled.cursor(previous) == previous


def test_an_unreachable_crm_is_skipped_quickly():
    down = SalesforceConnection(instance_url="https://127.0.0.1:9", access_token="t")
    started = time.monotonic()
    result = probe_salesforce(salesforce_probe_client(down), ["Lead"], {})
    assert "ConnectionError" in result.skipped["Lead"]
    hs = hubspot_probe_client(HubSpotConnection("t", "https://127.0.0.1:9"))
    assert "failed" in probe_hubspot(hs, ["contacts"], {}).skipped["contacts"]
    assert time.monotonic() - started < 20
