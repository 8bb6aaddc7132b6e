"""Deal -> company associations planned from the warehouse rows, the CRMs' state and what revloop wrote."""

from datetime import UTC, datetime

from activation.associations import linked_partners, plan_deal_companies
from activation.plan import Written

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ROWS = [
    {"opportunity_id": "006A", "account_id": "001A", "hubspot_company_id": "701"},
    {"opportunity_id": "006B", "account_id": "001B", "hubspot_company_id": None},
    {"opportunity_id": "006C", "account_id": None, "hubspot_company_id": None},
    {"opportunity_id": "006D", "account_id": "001A", "hubspot_company_id": "701"},
]


def test_partners_revloop_linked_are_known_before_the_next_ingestion():
    written = {
        ("hubspot", "901", "salesforce_id"): Written("006B", T0),  # a deal created from 006B
        ("salesforce", "001B", "HubSpot_Id__c"): Written("702", T0),  # a company created from 001B
        ("salesforce", "001B", "Revloop_Id__c"): Written("domain:b.io", T0),
    }
    assert linked_partners(written) == {"006B": "901", "001B": "702"}


def test_each_known_deal_gets_its_company_unless_present_or_already_written():
    deal_of = {"006A": "900", "006B": "901", "006C": "902"}
    planned = plan_deal_companies(ROWS, deal_of, {"001B": "702"}, {"006A": "k-a"}, set())
    assert [(a.from_id, a.to_id, a.key) for a in planned] == [
        ("900", "701", "k-a"),
        ("901", "702", "opportunity:006B"),  # company known from revloop's own link; 006C has no Account
    ]  # 006D has no deal yet: nothing to associate
    assert plan_deal_companies(ROWS, deal_of, {"001B": "702"}, {}, {("900", "701"), ("901", "702")}) == []
