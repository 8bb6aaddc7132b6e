"""Pairs built from the warehouse: sync_* desired-state rows joined to the newest live raw CRM rows."""

import duckdb
import pytest

from activation.plan import plan_object
from activation.warehouse_state import load_pairs
from revloop.config.sync import load_sync_config

CONTACT = load_sync_config().objects["contact"]
ENRICHED_NULLS = (
    "null as churn_risk, null as purchase_likelihood, null as engagement_potential, null as segments"
)


@pytest.fixture
def warehouse():
    c = duckdb.connect()
    c.execute(f"""
        create schema raw_salesforce; create schema raw_hubspot; create schema activation;
        create table raw_salesforce.contact (id varchar, system_modstamp timestamptz, is_deleted boolean,
            email varchar, first_name varchar, last_name varchar, lead_score__c double, revloop_id__c varchar,
            hub_spot_id__c varchar, _dlt_load_id varchar);
        insert into raw_salesforce.contact values
            ('003A', '2026-11-01', false, 'ann@acme.io', 'Ann', 'Lee', 10, 'p1', '501', '1'),
            ('003A', '2026-11-02', false, 'ann@acme.io', 'Annie', 'Lee', 10, 'p1', '501', '2'),
            ('003B', '2026-11-01', true, 'old@acme.io', 'Old', 'Gone', null, null, null, '2');
        create table raw_salesforce.lead (id varchar, system_modstamp timestamptz, is_deleted boolean,
            is_converted boolean, email varchar, last_name varchar, company varchar, _dlt_load_id varchar);
        insert into raw_salesforce.lead values ('00QC', '2026-11-01', false, true, 'c@x.io', 'C', 'X', '1');
        create table raw_hubspot.contacts (id varchar, updated_at timestamptz, archived boolean,
            email varchar, firstname varchar, lastname varchar, revloop_id varchar, salesforce_id varchar,
            _dlt_load_id varchar);
        insert into raw_hubspot.contacts values
            ('501', '2026-11-01', false, 'ann@acme.io', 'Ann', 'Lee', 'p1', '003A', '1'),
            ('502', '2026-11-01', false, 'dan@gamma.io', 'Dan', 'Fox', null, null, '1');
        create table activation.sync_salesforce__contacts as
            select '003A' as contact_id, 'p1' as revloop_id, true as is_primary, '501' as hubspot_contact_id,
                   10.0 as lead_score, {ENRICHED_NULLS}
            union all select '003B', 'p2', true, null, 1, null, null, null, null;
        create table activation.sync_salesforce__leads as
            select '00QC' as lead_id, 'p3' as revloop_id, true as is_primary, null as hubspot_contact_id,
                   null as lead_score, {ENRICHED_NULLS};
        create table activation.sync_hubspot__contacts as
            select '501' as hubspot_contact_id, 'p1' as revloop_id, true as is_primary,
                   '003A' as salesforce_id, 10.0 as lead_score, {ENRICHED_NULLS}
            union all select '502', 'p4', true, null, 3, null, null, null, null;
    """)
    return c


def test_pairs_use_the_newest_live_rows_and_skip_deleted_and_converted(warehouse):
    pairs = {p.key: p for p in load_pairs(warehouse, CONTACT)}
    assert set(pairs) == {"p1", "p4"}  # 003B is deleted, 00QC a converted Lead
    assert pairs["p1"].salesforce.values["FirstName"] == "Annie"
    assert pairs["p1"].hubspot.record_id == "501" and pairs["p4"].salesforce is None
    assert pairs["p4"].desired["lead_score"] == 3


def test_plan_from_warehouse_sends_only_the_difference(warehouse):
    plan = plan_object("contact", CONTACT, load_pairs(warehouse, CONTACT), {})
    changes = {(w.crm, w.operation, w.record_id): w.fields for w in plan.writes}
    assert changes[("hubspot", "update", "501")] == {"firstname": "Annie", "lead_score": "10"}
    assert ("salesforce", "update", "003A") not in changes  # already as desired
    assert changes[("hubspot", "update", "502")] == {"lead_score": "3", "revloop_id": "p4"}
    # Dan has no company in HubSpot: a Lead cannot be created, and that is reported, not sent
    assert ("salesforce", "create", None) not in changes
    assert [(r.key, r.field) for r in plan.rejections] == [("p4", "Company")]
