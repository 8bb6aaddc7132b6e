"""Deal contacts planned both ways from the CRMs' links, the record pairs and what revloop wrote."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from activation.deal_contacts import partners, plan_contact_roles, plan_deal_contact_associations
from activation.plan import CrmRecord, SyncPair
from revloop.config.sync import ObjectMapping, load_sync_config

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _record(crm: str, object_name: str, record_id: str) -> CrmRecord:
    return CrmRecord(crm, object_name, record_id, T0, {})


def _pair(salesforce_id: str | None, hubspot_id: str | None, matched: bool = True) -> SyncPair:
    object_name = {"003": "Contact", "00Q": "Lead", "006": "Opportunity"}.get((salesforce_id or "")[:3], "")
    return SyncPair(
        f"k-{salesforce_id or hubspot_id}",
        _record("salesforce", object_name, salesforce_id) if salesforce_id else None,
        _record("hubspot", "x", hubspot_id) if hubspot_id else None,
        matched=matched,
    )


DEALS = [_pair("006A", "900"), _pair("006B", None)]
PEOPLE = [
    _pair("003A", "501"),
    _pair("003B", "502"),
    _pair("00QC", "503"),  # a Lead's partner: a Lead cannot play a role
    _pair("003D", "504", matched=False),  # one profile's records that do not match each other: not linked
]
# revloop created deal 901 from 006B and HubSpot contact 505 from Contact 003E; 001F is an Account
LINKED = {"006B": "901", "003E": "505", "001F": "700"}


def test_partners_come_from_matching_pairs_and_revloop_s_own_links():
    known = partners(DEALS, PEOPLE, LINKED)
    assert known.deal_of == {"006A": "900", "006B": "901"}
    assert known.contact_of == {"003A": "501", "003B": "502", "003E": "505"}


def test_each_salesforce_role_becomes_a_deal_contact_association_unless_held_or_written():
    known = partners(DEALS, PEOPLE, LINKED)
    roles = [("006A", "003A"), ("006A", "003B"), ("006B", "003E"), ("006A", "003D"), ("006C", "003A")]
    planned = plan_deal_contact_associations(roles, known, {"006A": "opp-a"}, {("900", "502")})
    assert [(a.from_type, a.from_id, a.to_type, a.to_id, a.key, a.crm) for a in planned] == [
        ("deals", "900", "contacts", "501", "opp-a", "hubspot"),
        ("deals", "901", "contacts", "505", "opportunity:006B", "hubspot"),  # both created by revloop
    ]  # 003D is not linked to its contact; 006C has no deal


def test_each_hubspot_deal_contact_becomes_a_contact_role_of_a_contact_never_a_lead():
    known = partners(DEALS, PEOPLE, LINKED)
    associations = [
        ("900", "501"),
        ("900", "502"),
        ("900", "503"),
        ("900", "504"),
        ("901", "505"),
        ("999", "501"),
    ]
    planned = plan_contact_roles(associations, known, {"006A": "opp-a"}, {("006A", "003B")})
    assert [(a.from_type, a.from_id, a.to_type, a.to_id, a.key, a.crm) for a in planned] == [
        ("Opportunity", "006A", "Contact", "003A", "opp-a", "salesforce"),
        ("Opportunity", "006B", "Contact", "003E", "opportunity:006B", "salesforce"),
    ]  # 503 is a Lead's partner, 504 unmatched, deal 999 has no Opportunity, 003B holds its role already
    assert (
        plan_contact_roles(associations, known, {}, {("006A", "003A"), ("006B", "003E"), ("006A", "003B")})
        == []
    )


def test_deals_associate_contacts_by_default_and_only_deals_may():
    assert load_sync_config().objects["deal"].associate == ["companies", "contacts"]
    contact = load_sync_config().objects["contact"].model_dump()
    with pytest.raises(ValidationError, match="contacts is supported on deals only"):
        ObjectMapping.model_validate({**contact, "associate": ["contacts"]})
