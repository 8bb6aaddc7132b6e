"""Write-back never rewrites what identifies a record; records that disagree become sync_conflicts rows."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from activation.baselines import record_baselines
from activation.conflicts import record_conflicts
from activation.plan import CrmRecord, SyncPair, plan_object
from activation.warehouse_state import load_pairs
from revloop.config.sync import load_sync_config

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
CONTACT = load_sync_config().objects["contact"]
SCORES = "null as churn_risk, null as purchase_likelihood, null as engagement_potential, null as segments"


@pytest.fixture
def wrongly_merged():
    """Bob's Lead and Anna's HubSpot contact share the office switchboard and were merged into profile p1.

    Bob's Lead is the newer record: a profile-level sync would push Bob's e-mail onto Anna's contact."""
    c = duckdb.connect()
    c.execute(f"""
        create schema activation;
        -- the current records as dbt's crm_* models give them (one version each, none deleted)
        create table activation.crm_salesforce__lead (id varchar, system_modstamp timestamptz,
            is_deleted boolean, is_converted boolean, email varchar, first_name varchar,
            last_name varchar, phone varchar, company varchar, lead_score__c double, revloop_id__c varchar,
            hub_spot_id__c varchar);
        insert into activation.crm_salesforce__lead values ('00QB', '2026-11-02', false, false,
            'bob@acme.io', 'Bob', 'Stone', '+1 (555) 010-0100', 'Acme', null, null, null);
        create table activation.crm_hubspot__contacts (id varchar, updated_at timestamptz, archived boolean,
            email varchar, firstname varchar, lastname varchar, phone varchar, company varchar,
            lead_score varchar, revloop_id varchar, salesforce_id varchar);
        insert into activation.crm_hubspot__contacts values ('701', '2026-11-01', false, 'anna@acme.io',
            'Anna', 'Berg', '555-010-0100', 'Acme', null, null, null);
        create table activation.sync_salesforce__contacts (contact_id varchar, revloop_id varchar,
            is_primary boolean, hubspot_contact_id varchar, lead_score double, churn_risk double,
            purchase_likelihood double, engagement_potential double, segments varchar);
        create table activation.sync_salesforce__leads as
            select '00QB' as lead_id, 'p1' as revloop_id, true as is_primary, '701' as hubspot_contact_id,
                   42.0 as lead_score, {SCORES};
        create table activation.sync_hubspot__contacts as
            select '701' as hubspot_contact_id, 'p1' as revloop_id, true as is_primary,
                   '00QB' as salesforce_id, 42.0 as lead_score, {SCORES};
    """)
    return c


def test_colleagues_merged_by_a_switchboard_phone_do_not_get_each_others_email(wrongly_merged):
    [pair] = load_pairs(wrongly_merged, CONTACT)
    assert pair.salesforce.record_id == "00QB" and pair.hubspot.record_id == "701" and not pair.matched
    plan = plan_object("contact", CONTACT, [pair], {})
    fields = {(w.crm, w.record_id): w.fields for w in plan.writes}
    # only the profile's own values and each record's revloop key; no e-mail, name, phone or cross id
    assert fields == {
        ("salesforce", "00QB"): {"Lead_Score__c": 42.0, "Revloop_Id__c": "p1"},
        ("hubspot", "701"): {"lead_score": "42", "revloop_id": "p1"},
    }
    # the phone is the same number: only the e-mail is a disagreement an operator must look at
    [conflict] = plan.conflicts
    assert (conflict.key, conflict.field) == ("p1", "Email/email")
    assert dict(conflict.values) == {"salesforce:00QB": "bob@acme.io", "hubspot:701": "anna@acme.io"}


def test_conflicts_are_kept_for_operators_with_first_and_last_seen(wrongly_merged):
    # what each sync run does with its plan's conflicts (run_sync needs a CRM client to run at all)
    for _ in range(2):
        plan = plan_object("contact", CONTACT, load_pairs(wrongly_merged, CONTACT), {})
        record_conflicts(wrongly_merged, "contact", plan.conflicts)
    rows = wrongly_merged.execute(
        "select object, profile_id, field, records, values_json, first_seen_at < last_seen_at, seen_count"
        " from activation.sync_conflicts"
    ).fetchall()
    assert rows == [
        (
            "contact",
            "p1",
            "Email/email",
            "salesforce:00QB,hubspot:701",
            '{"salesforce:00QB": "bob@acme.io", "hubspot:701": "anna@acme.io"}',
            True,
            2,
        )
    ]


def sf(at=T0, **values):
    base = {"Email": "ann@acme.io", "LastName": "Lee", "Revloop_Id__c": "p1", "HubSpot_Id__c": "501"}
    return CrmRecord("salesforce", "Contact", "003A", at, {**base, **values})


def hs(at=T0, **values):
    base = {"email": "ann@acme.io", "lastname": "Lee", "revloop_id": "p1", "salesforce_id": "003A"}
    return CrmRecord("hubspot", "contacts", "501", at, {**base, **values})


def test_an_email_is_never_replaced_on_a_linked_record_only_reported():
    pair = SyncPair("p1", sf(T0 + timedelta(hours=1), Email="ann.lee@newjob.io"), hs())
    plan = plan_object("contact", CONTACT, [pair], {})
    assert plan.writes == []
    assert [(c.field, dict(c.values)) for c in plan.conflicts] == [
        ("Email/email", {"salesforce:003A": "ann.lee@newjob.io", "hubspot:501": "ann@acme.io"})
    ]


def test_an_empty_identifier_is_filled_and_another_spelling_of_one_number_is_no_conflict():
    pair = SyncPair(
        "p1", sf(T0 + timedelta(hours=1), Phone="020 3472 2966"), hs(email=None, phone="+44 20 3472 2966")
    )
    plan = plan_object("contact", CONTACT, [pair], {})
    assert plan.conflicts == []
    assert {(w.crm, w.record_id): w.fields for w in plan.writes} == {
        ("hubspot", "501"): {"email": "ann@acme.io", "phone": "020 3472 2966"}
    }


def test_a_different_phone_number_is_a_conflict_and_neither_record_is_changed():
    pair = SyncPair("p1", sf(T0 + timedelta(hours=1), Phone="+1 555 010 0100"), hs(phone="+1 555 010 0199"))
    plan = plan_object("contact", CONTACT, [pair], {})
    assert plan.writes == [] and [c.field for c in plan.conflicts] == ["Phone/phone"]


def test_a_baseline_stays_while_only_revloop_writes_the_record():
    c = duckdb.connect()
    first_write = datetime.now(UTC)
    record_baselines(c, [CrmRecord("hubspot", "contacts", "501", T0, {})])
    # the next run reads the record as revloop's write left it: the baseline is still the user's change
    record_baselines(c, [CrmRecord("hubspot", "contacts", "501", first_write, {})])
    assert c.execute("select modified_before from activation.sync_record_baselines").fetchone()[0] == T0
    # a change by someone else after revloop's write becomes the new baseline
    edited = datetime.now(UTC) + timedelta(hours=1)
    record_baselines(c, [CrmRecord("hubspot", "contacts", "501", edited, {})])
    assert c.execute("select modified_before from activation.sync_record_baselines").fetchone()[0] == edited
