"""Deal contacts both ways against the sandbox CRMs with the real clients: Opportunity contact roles <->
HubSpot deal -> contact associations, created deals included, quiet at rest and exactly once under faults."""

from urllib.parse import unquote_plus

import duckdb
import pytest

from activation.run import run_sync
from ingestion.hubspot import HubSpotConnection
from ingestion.load import load_source
from ingestion.salesforce.client import SalesforceConnection, connect
from sandbox.server import RESET

DEAL_TO_CONTACT = 3  # HubSpot's default deal -> contact association type
# HubSpot POSTs that only read
_READS = ("/search", "/batch/read")


@pytest.fixture
def sf(sf_sandbox):
    """simple-salesforce on the retrying session revloop runs with."""
    return connect(
        SalesforceConnection(
            instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
        )
    )


@pytest.fixture
def hs(hs_sandbox):
    """hubspot-api-client with the retry policy revloop runs with."""
    return HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert)).hubspot()


def _ingest(sf_sandbox, hs_sandbox, warehouse) -> None:
    """Both CRMs into the warehouse through the assets' load sequence (deltas after the first run)."""
    salesforce = SalesforceConnection(
        instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
    )
    load_source(salesforce, warehouse)
    load_source(HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_bundle)), warehouse)
    _current_records(warehouse)


# The sync's current-record models (dbt's activation.crm_*) over the raw tables they read. Every record here
# has one version, none deleted, so a view of the raw table is what dbt's latest_records gives.
CURRENT_MODELS = {
    "crm_salesforce__contact": "raw_salesforce.contact",
    "crm_salesforce__lead": "raw_salesforce.lead",
    "crm_salesforce__account": "raw_salesforce.account",
    "crm_salesforce__opportunity": "raw_salesforce.opportunity",
    "crm_salesforce__opportunitycontactrole": "raw_salesforce.opportunitycontactrole",
    "crm_hubspot__contacts": "raw_hubspot.contacts",
    "crm_hubspot__companies": "raw_hubspot.companies",
    "crm_hubspot__deals": "raw_hubspot.deals",
}


def _current_records(warehouse) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists activation")
        for model, raw in CURRENT_MODELS.items():
            schema, table = raw.split(".")
            found = con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()[0][0]
            if found:
                con.execute(f"create or replace view activation.{model} as select * from {raw}")


def _people(con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]], leads: list[tuple[str, str]]):
    """The person sync models as dbt leaves them: each Salesforce Contact or Lead paired with a HubSpot
    contact, one profile each."""
    con.execute("create schema if not exists activation")
    con.execute(
        "create or replace table activation.sync_salesforce__contacts (contact_id varchar,"
        " revloop_id varchar, is_primary boolean, hubspot_contact_id varchar)"
    )
    con.execute(
        "create or replace table activation.sync_salesforce__leads (lead_id varchar,"
        " revloop_id varchar, is_primary boolean, hubspot_contact_id varchar)"
    )
    con.execute(
        "create or replace table activation.sync_hubspot__contacts (hubspot_contact_id varchar,"
        " revloop_id varchar, is_primary boolean, salesforce_id varchar)"
    )
    for table, rows in (("contacts", pairs), ("leads", leads)):
        if not rows:
            continue
        con.executemany(
            f"insert into activation.sync_salesforce__{table} values (?, ?, true, ?)",
            [(sf_id, f"p-{sf_id}", hs_id) for sf_id, hs_id in rows],
        )
    con.executemany(
        "insert into activation.sync_hubspot__contacts values (?, ?, true, ?)",
        [(hs_id, f"p-{sf_id}", sf_id) for sf_id, hs_id in pairs + leads],
    )


def _writes(sf_sandbox, hs_sandbox, since: tuple[int, int]) -> dict[str, int]:
    """Write calls each CRM answered after the request log positions in since."""
    sf_log = sf_sandbox.emulator.request_log[since[0] :]
    hs_log = hs_sandbox.emulator.request_log[since[1] :]
    return {
        "salesforce": sum(1 for r in sf_log if r.method in ("POST", "PATCH", "DELETE")),
        "hubspot": sum(
            1
            for r in hs_log
            if r.method in ("POST", "PATCH", "PUT", "DELETE") and not any(p in r.path for p in _READS)
        ),
    }


def _positions(sf_sandbox, hs_sandbox) -> tuple[int, int]:
    return len(sf_sandbox.emulator.request_log), len(hs_sandbox.emulator.request_log)


def _roles(sf_sandbox) -> list[tuple[str, str]]:
    return sorted(
        (r["OpportunityId"], r["ContactId"]) for r in sf_sandbox.emulator.records("OpportunityContactRole")
    )


@pytest.fixture
def hubspot_deal(sf_sandbox, hs_sandbox, warehouse):
    """A HubSpot deal with three contacts: Ann and Bob are Salesforce Contacts' partners, Cy a Lead's.
    Salesforce has no Opportunity for the deal yet."""
    ann, bob = sf_sandbox.emulator.seed(
        "Contact", [{"LastName": "Ann", "Email": "ann@acme.io"}, {"LastName": "Bob", "Email": "bob@acme.io"}]
    )
    [cy] = sf_sandbox.emulator.seed("Lead", [{"LastName": "Cy", "Company": "Acme", "Email": "cy@acme.io"}])
    hs_ann, hs_bob, hs_cy = hs_sandbox.emulator.seed(
        "contacts", [{"properties": {"email": f"{name}@acme.io"}} for name in ("ann", "bob", "cy")]
    )
    [deal] = hs_sandbox.emulator.seed(
        "deals",
        [
            {
                "properties": {
                    "dealname": "Acme pilot",
                    "dealstage": "qualifiedtobuy",
                    "closedate": "2026-12-01T00:00:00Z",
                    "pipeline": "default",
                }
            }
        ],
    )
    for contact in (hs_ann, hs_bob, hs_cy):
        hs_sandbox.emulator.seed_association("deals", deal, "contacts", contact)
    _ingest(sf_sandbox, hs_sandbox, warehouse)
    con = duckdb.connect(str(warehouse))
    _people(con, [(ann, hs_ann), (bob, hs_bob)], [(cy, hs_cy)])
    yield con, deal, (ann, bob)
    con.close()


def test_a_deal_created_in_hubspot_with_two_contacts_becomes_an_opportunity_with_two_roles(
    hubspot_deal, sf_sandbox, hs_sandbox, sf, hs, warehouse
):
    con, deal, (ann, bob) = hubspot_deal
    [report] = run_sync(con, sf, hs, objects=["deal"])
    assert report.errors == []
    [opportunity] = sf_sandbox.emulator.records("Opportunity")
    assert opportunity["Name"] == "Acme pilot" and opportunity["HubSpot_Id__c"] == deal
    # Ann and Bob play a role; Cy is a Lead's partner and a Lead cannot have one
    assert _roles(sf_sandbox) == sorted([(opportunity["Id"], ann), (opportunity["Id"], bob)])
    assert report.api_calls["salesforce.OpportunityContactRole.create"] == 1
    assert report.outcomes["salesforce.OpportunityContactRole.create.associated"] == 2
    logged = con.execute(
        "select crm, crm_object, record_id, fields, status from activation.sync_log"
        " where operation = 'associate' order by fields"
    ).fetchall()
    assert logged == [
        ("salesforce", "Opportunity", opportunity["Id"], f"Contact:{c}", "associated")
        for c in sorted([ann, bob])
    ]

    # at rest: again before the next ingestion, then after it (the roles come back as Salesforce's own)
    for ingest_first in (False, True):
        if ingest_first:
            _ingest(sf_sandbox, hs_sandbox, warehouse)
        before = _positions(sf_sandbox, hs_sandbox)
        [rerun] = run_sync(con, sf, hs, objects=["deal"])
        assert rerun.statuses == {} and rerun.api_calls == {}
        assert _writes(sf_sandbox, hs_sandbox, before) == {"salesforce": 0, "hubspot": 0}
    assert len(_roles(sf_sandbox)) == 2


def test_opportunity_contact_roles_become_contact_associations_of_its_new_deal(
    sf_sandbox, hs_sandbox, sf, hs, hs_client, warehouse
):
    [account] = sf_sandbox.emulator.seed("Account", [{"Name": "Acme", "Website": "acme.io"}])
    ann, bob, dee = sf_sandbox.emulator.seed(
        "Contact",
        [
            {"LastName": name, "Email": f"{name}@acme.io", "AccountId": account}
            for name in ("ann", "bob", "dee")
        ],
    )
    [opportunity] = sf_sandbox.emulator.seed(
        "Opportunity",
        [
            {
                "Name": "Acme renewal",
                "StageName": "Prospecting",
                "CloseDate": "2026-12-01",
                "AccountId": account,
            }
        ],
    )
    sf_sandbox.emulator.seed(
        "OpportunityContactRole",
        [
            {"OpportunityId": opportunity, "ContactId": ann, "Role": "Economic Buyer", "IsPrimary": True},
            {"OpportunityId": opportunity, "ContactId": bob, "Role": "Evaluator"},
            # Dee has no HubSpot partner: nothing to associate her with
            {"OpportunityId": opportunity, "ContactId": dee, "Role": "Influencer"},
        ],
    )
    hs_ann, hs_bob = hs_sandbox.emulator.seed(
        "contacts", [{"properties": {"email": f"{name}@acme.io"}} for name in ("ann", "bob")]
    )
    _ingest(sf_sandbox, hs_sandbox, warehouse)
    con = duckdb.connect(str(warehouse))
    _people(con, [(ann, hs_ann), (bob, hs_bob)], [])

    [report] = run_sync(con, sf, hs, objects=["deal"])
    assert report.errors == []
    [deal] = hs_sandbox.emulator.records("deals")
    assert deal["properties"]["salesforce_id"] == opportunity
    associated = hs_client.crm.associations.v4.basic_api.get_page("deals", deal["id"], "contacts")
    links = {str(r.to_object_id): {t.type_id for t in r.association_types} for r in associated.results}
    assert links == {hs_ann: {DEAL_TO_CONTACT}, hs_bob: {DEAL_TO_CONTACT}}
    assert report.outcomes["hubspot.deals.associate.associated"] == 2
    # no role was echoed back to Salesforce from the associations revloop just made
    assert len(_roles(sf_sandbox)) == 3

    _ingest(sf_sandbox, hs_sandbox, warehouse)
    before = _positions(sf_sandbox, hs_sandbox)
    [rerun] = run_sync(con, sf, hs, objects=["deal"])
    assert rerun.statuses == {} and rerun.api_calls == {}
    assert _writes(sf_sandbox, hs_sandbox, before) == {"salesforce": 0, "hubspot": 0}
    con.close()


@pytest.mark.parametrize("lost_answer", [503, RESET])
def test_a_contact_role_create_whose_answer_is_lost_creates_each_role_once(
    hubspot_deal, sf_sandbox, hs_sandbox, sf, hs, lost_answer
):
    con, _, (ann, bob) = hubspot_deal
    sf_sandbox.emulator.faults.fail_after_commit(lost_answer, 1, "/composite/sobjects", "POST")
    [report] = run_sync(con, sf, hs, objects=["deal"])
    [opportunity] = sf_sandbox.emulator.records("Opportunity")
    assert _roles(sf_sandbox) == sorted([(opportunity["Id"], ann), (opportunity["Id"], bob)])  # no duplicate
    creates = sf_sandbox.emulator.requests_to("/composite/sobjects", "POST")
    # the lost answer was neither retried blindly nor re-sent: the roles were looked up and found
    assert [r.status for r in creates] == [0 if lost_answer == RESET else 503]
    queries = [unquote_plus(r.query) for r in sf_sandbox.emulator.requests_to("/query")]
    lookups = [q for q in queries if "FROM OpportunityContactRole WHERE OpportunityId IN" in q]
    assert len(lookups) == 1
    assert report.errors == [] and report.outcomes["salesforce.OpportunityContactRole.create.associated"] == 2
    remembered = con.execute(
        "select count(*) from activation.written_associations where from_type = 'Opportunity'"
    ).fetchone()
    assert remembered == (2,)
    before = _positions(sf_sandbox, hs_sandbox)
    [rerun] = run_sync(con, sf, hs, objects=["deal"])
    assert rerun.api_calls == {} and _writes(sf_sandbox, hs_sandbox, before) == {
        "salesforce": 0,
        "hubspot": 0,
    }
