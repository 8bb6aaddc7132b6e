"""One CRM configured: the planner writes warehouse values into that CRM's records only, creating none."""

from datetime import UTC, datetime

import pytest

from activation.plan import CrmRecord, SyncPair, plan_object
from activation.run import configured_crms
from revloop.config.sync import load_sync_config

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
CONFIG = load_sync_config()
CONTACT, COMPANY = CONFIG.objects["contact"], CONFIG.objects["company"]
SCORES = {"lead_score": "120", "purchase_likelihood": "0.4", "segments": "Trial users"}


def sf_lead(**values):
    base = {"Email": "ann@acme.io", "LastName": "Lee", "Company": "Acme", "FirstName": "Ann"}
    return CrmRecord("salesforce", "Lead", "00QA", T0, {**base, **values})


def hs_contact(**values):
    base = {"email": "ann@acme.io", "lastname": "Lee", "firstname": "Anna", "company": "Acme"}
    return CrmRecord("hubspot", "contacts", "501", T0, {**base, **values})


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_one_crm_gets_its_enriched_fields_and_its_key_only(crm):
    # the other CRM's raw tables still hold an old load (it was configured once): its values are not copied
    pair = SyncPair("p1", sf_lead(), hs_contact(), desired=SCORES)
    [write] = plan_object("contact", CONTACT, [pair], {}, crms=(crm,)).writes
    assert (write.crm, write.operation) == (crm, "update")
    if crm == "salesforce":
        assert write.fields == {
            "Lead_Score__c": 120, "Purchase_Likelihood__c": 0.4, "Segments__c": "Trial users",
            "Revloop_Id__c": "p1",
        }
    else:
        assert write.fields == {
            "lead_score": "120", "purchase_likelihood": "0.4", "segments": "Trial users", "revloop_id": "p1",
        }


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_one_crm_creates_nothing_from_the_other(crm):
    other = {"salesforce": {"hubspot": hs_contact()}, "hubspot": {"salesforce": sf_lead()}}[crm]
    plan = plan_object("contact", CONTACT, [SyncPair("p1", desired=SCORES, **other)], {}, crms=(crm,))
    assert plan.writes == [] and plan.rejections == []
    # both configured: the same pair creates the missing record (the two-way sync)
    both = plan_object("contact", CONTACT, [SyncPair("p1", desired=SCORES, **other)], {}).writes
    assert [w.crm for w in both if w.operation == "create"] == [crm]


def test_write_back_leaves_a_record_without_changed_values_alone():
    lead = sf_lead(Lead_Score__c=120, Purchase_Likelihood__c=0.4, Segments__c="Trial users")
    plan = plan_object("contact", CONTACT, [SyncPair("p1", lead, desired=SCORES)], {}, crms=("salesforce",))
    assert plan.writes == []  # no revloop key written on its own
    account = CrmRecord("salesforce", "Account", "001A", T0, {"Name": "Acme", "Website": "acme.io"})
    company = SyncPair("c1", account, CrmRecord("hubspot", "companies", "9", T0, {"name": "Acme Inc"}))
    assert plan_object("company", COMPANY, [company], {}, crms=("salesforce",)).writes == []


def test_configured_crms_follow_the_clients():
    assert configured_crms(object(), None) == ("salesforce",)
    assert configured_crms(None, object()) == ("hubspot",)
    assert configured_crms(object(), object()) == ("salesforce", "hubspot")
    assert configured_crms(None, None) == ()
