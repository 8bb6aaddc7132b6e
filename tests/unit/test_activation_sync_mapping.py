"""Every mapped field both ways: picklist value maps, rounded scores, deals created as Opportunities."""

from datetime import UTC, datetime, timedelta

import pytest

from activation.contact_companies import plan_contact_companies
from activation.plan import CrmRecord, SyncPair, Written, plan_object
from revloop.config.sync import FieldMapping, load_sync_config

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
CONFIG = load_sync_config()
CONTACT, COMPANY, DEAL = (CONFIG.objects[k] for k in ("contact", "company", "deal"))


def lead(at=T0, record_id="00QA", **values):
    base = {"Email": "ann@acme.io", "LastName": "Lee", "Revloop_Id__c": "p1", "HubSpot_Id__c": "501"}
    return CrmRecord("salesforce", "Lead", record_id, at, {**base, **values})


def contact(at=T0, record_id="501", **values):
    base = {"email": "ann@acme.io", "lastname": "Lee", "revloop_id": "p1", "salesforce_id": "00QA"}
    return CrmRecord("hubspot", "contacts", record_id, at, {**base, **values})


def changes(plan):
    return {(w.crm, w.record_id): w.fields for w in plan.writes}


@pytest.mark.parametrize(
    ("salesforce", "hubspot"),
    [
        ("Working - Contacted", "CONNECTED"),  # several HubSpot statuses mean one Salesforce status
        ("Working - Contacted", "IN_PROGRESS"),
        ("Open - Not Contacted", "OPEN"),
        ("Closed - Not Converted", "UNQUALIFIED"),
    ],
)
def test_lead_statuses_that_mean_the_same_are_in_sync(salesforce, hubspot):
    pair = SyncPair("p1", lead(Status=salesforce), contact(hs_lead_status=hubspot))
    assert plan_object("contact", CONTACT, [pair], {}).writes == []


def test_lead_status_flows_both_ways_through_the_value_map():
    newer_hubspot = SyncPair(
        "p1", lead(Status="Open - Not Contacted"), contact(LATER, hs_lead_status="CONNECTED")
    )
    assert changes(plan_object("contact", CONTACT, [newer_hubspot], {})) == {
        ("salesforce", "00QA"): {"Status": "Working - Contacted"}
    }
    newer_salesforce = SyncPair(
        "p1", lead(LATER, Status="Closed - Not Converted"), contact(hs_lead_status="NEW")
    )
    assert changes(plan_object("contact", CONTACT, [newer_salesforce], {})) == {
        ("hubspot", "501"): {"hs_lead_status": "UNQUALIFIED"}
    }


def test_a_hubspot_status_no_lead_can_have_is_neither_synced_nor_overwritten_nor_logged():
    pair = SyncPair("p1", lead(Status="Working - Contacted"), contact(LATER, hs_lead_status="OPEN_DEAL"))
    plan = plan_object("contact", CONTACT, [pair], {})
    assert plan.writes == [] and plan.rejections == []


def test_a_contact_has_no_status_and_gets_none():
    salesforce = CrmRecord(
        "salesforce", "Contact", "003A", T0, {"Email": "ann@acme.io", "Revloop_Id__c": "p1"}
    )
    pair = SyncPair("p1", salesforce, contact(LATER, hs_lead_status="NEW", salesforce_id="003A"))
    plan = plan_object("contact", CONTACT, [pair], {})
    assert all("Status" not in w.fields for w in plan.writes)


def account(at=T0, **values):
    base = {
        "Name": "Acme",
        "Website": "https://acme.io",
        "Revloop_Id__c": "domain:acme.io",
        "HubSpot_Id__c": "70",
    }
    return CrmRecord("salesforce", "Account", "001A", at, {**base, **values})


def company(at=T0, **values):
    base = {"name": "Acme", "domain": "acme.io", "revloop_id": "domain:acme.io", "salesforce_id": "001A"}
    return CrmRecord("hubspot", "companies", "70", at, {**base, **values})


def test_account_industry_and_company_industry_map_both_ways():
    same = SyncPair("domain:acme.io", account(Industry="Technology"), company(industry="INTERNET"))
    assert plan_object("company", COMPANY, [same], {}).writes == []
    newer_salesforce = SyncPair(
        "domain:acme.io", account(LATER, Industry="Finance"), company(industry="RETAIL")
    )
    assert changes(plan_object("company", COMPANY, [newer_salesforce], {})) == {
        ("hubspot", "70"): {"industry": "FINANCIAL_SERVICES"}
    }
    newer_hubspot = SyncPair(
        "domain:acme.io", account(Industry="Finance"), company(LATER, industry="MACHINERY")
    )
    assert changes(plan_object("company", COMPANY, [newer_hubspot], {})) == {
        ("salesforce", "001A"): {"Industry": "Manufacturing"}
    }


def test_a_value_map_that_would_flip_between_two_spellings_is_refused_at_load():
    with pytest.raises(ValueError, match="reads back"):
        FieldMapping(
            salesforce="Industry",
            hubspot="industry",
            direction="both",
            type="picklist",
            values={"Technology": "COMPUTER_SOFTWARE"},
            from_hubspot={"COMPUTER_SOFTWARE": "Finance"},
        )


@pytest.mark.parametrize(("held", "desired", "written"), [(40.0, 40.3, False), (40.0, 40.6, True)])
def test_lead_score_is_written_only_when_its_rounded_value_changes(held, desired, written):
    pair = SyncPair(
        "p1", lead(Lead_Score__c=held), contact(lead_score=str(int(held))), {"lead_score": desired}
    )
    fields = changes(plan_object("contact", CONTACT, [pair], {}))
    assert bool(fields) is written
    if written:
        assert fields[("salesforce", "00QA")] == {"Lead_Score__c": 41.0}
        assert fields[("hubspot", "501")] == {"lead_score": "41"}


def test_probabilities_are_compared_to_two_decimals():
    pair = SyncPair("p1", lead(Churn_Risk__c=0.12), contact(churn_risk="0.12"), {"churn_risk": 0.1234})
    assert plan_object("contact", CONTACT, [pair], {}).writes == []


def test_a_hubspot_deal_becomes_an_opportunity_of_its_companys_account():
    deal = CrmRecord(
        "hubspot",
        "deals",
        "9001",
        T0,
        {
            "dealname": "Acme renewal",
            "amount": "1200",
            "closedate": "1798761600000",
            "dealstage": "contractsent",
        },
    )
    pair = SyncPair("deals:9001", None, deal, {"salesforce_account_id": "001A"})
    [write] = [w for w in plan_object("deal", DEAL, [pair], {}).writes if w.crm == "salesforce"]
    assert (write.crm, write.object_name, write.operation) == ("salesforce", "Opportunity", "create")
    assert write.fields == {
        "Name": "Acme renewal",
        "AccountId": "001A",
        "Amount": 1200.0,
        "CloseDate": "2027-01-01",
        "StageName": "Negotiation/Review",
        "Revloop_Id__c": "deals:9001",
        "HubSpot_Id__c": "9001",
    }


def test_a_deal_without_a_stage_is_not_created_as_an_opportunity():
    deal = CrmRecord("hubspot", "deals", "9002", T0, {"dealname": "No stage", "closedate": "2027-01-01"})
    plan = plan_object("deal", DEAL, [SyncPair("deals:9002", None, deal)], {})
    assert [w.crm for w in plan.writes] == ["hubspot"]  # only its own revloop key
    assert [(r.crm, r.field) for r in plan.rejections] == [("salesforce", "StageName")]


def test_a_default_of_a_record_revloop_created_is_not_pushed_back():
    """Salesforce gives a Lead created without a status its default; HubSpot had none: nothing to sync."""
    created_at = T0 + timedelta(minutes=5)
    new_lead = lead(created_at, Status="Open - Not Contacted")
    written = {("salesforce", "00QA", "Revloop_Id__c"): Written("p1", created_at + timedelta(seconds=1))}
    pair = SyncPair("p1", new_lead, contact(T0))
    plan = plan_object("contact", CONTACT, [pair], written, created={("salesforce", "00QA")})
    assert plan.writes == []
    # once someone changes the Lead, its status is theirs and flows
    edited = SyncPair("p1", lead(created_at + timedelta(hours=1), Status="Working - Contacted"), contact(T0))
    plan = plan_object("contact", CONTACT, [edited], written, created={("salesforce", "00QA")})
    assert changes(plan) == {("hubspot", "501"): {"hs_lead_status": "IN_PROGRESS"}}


def sf_contact(**values):
    base = {"Email": "ann@acme.io", "LastName": "Lee", "Revloop_Id__c": "p1", "HubSpot_Id__c": "501"}
    return CrmRecord("salesforce", "Contact", "003A", T0, {**base, **values})


@pytest.mark.parametrize(("held", "written"), [(None, True), ("001OTHER", False)])
def test_an_empty_contact_account_is_filled_from_the_hubspot_company_and_never_moved(held, written):
    pair = SyncPair(
        "p1", sf_contact(AccountId=held), contact(salesforce_id="003A"), {"salesforce_account_id": "001A"}
    )
    fields = changes(plan_object("contact", CONTACT, [pair], {}))
    assert fields == ({("salesforce", "003A"): {"AccountId": "001A"}} if written else {})


def test_a_hubspot_contact_without_company_is_associated_with_its_contacts_account_company():
    row = {
        "contact_id": "003A",
        "hubspot_contact_id": "501",
        "account_hubspot_company_id": "70",
        "hubspot_company_id": None,
    }
    pair = SyncPair("p1", sf_contact(AccountId="001A"), contact(salesforce_id="003A"))
    [association] = plan_contact_companies([row], [pair], set())
    assert (association.from_type, association.from_id, association.to_type, association.to_id) == (
        "contacts",
        "501",
        "companies",
        "70",
    )
    # a contact that has a company keeps it; a pair that does not match links nothing; nothing is sent twice
    assert plan_contact_companies([{**row, "hubspot_company_id": "71"}], [pair], set()) == []
    unmatched = SyncPair("p1", pair.salesforce, pair.hubspot, matched=False)
    assert plan_contact_companies([row], [unmatched], set()) == []
    assert plan_contact_companies([row], [pair], {("501", "70")}) == []


def test_a_contact_and_a_company_created_in_this_run_are_associated_in_this_run_too():
    row = {"contact_id": "003A", "hubspot_contact_id": None, "account_id": "001A"}
    pair = SyncPair("p1", sf_contact(AccountId="001A"), None)
    [association] = plan_contact_companies([row], [pair], set(), partners={"003A": "777", "001A": "70"})
    assert (association.from_id, association.to_id, association.key) == ("777", "70", "p1")
