"""Quiet at rest: refused writes held while nothing changed; Salesforce changes told apart by their author."""

from datetime import UTC, datetime, timedelta

import duckdb

from activation.baselines import record_baselines
from activation.plan import CrmRecord, RecordWrite, SyncPair, Written, plan_object
from activation.results import WriteResult
from activation.store import ActivationStore
from activation.warehouse_state import created_records
from revloop.config.sync import load_sync_config

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
CONTACT = load_sync_config().objects["contact"]
REVLOOP_USER = "005000000000001AAA"
COLLEAGUE = "005000000000002AAA"


def lead(at=T0, by=None, **values):
    base = {"Email": "ann@acme.io", "LastName": "Lee", "Revloop_Id__c": "p1", "HubSpot_Id__c": "501"}
    return CrmRecord("salesforce", "Lead", "00QA", at, {**base, **values}, by)


def contact(at=T0, **values):
    base = {"email": "ann@acme.io", "lastname": "Lee", "revloop_id": "p1", "salesforce_id": "00QA"}
    return CrmRecord("hubspot", "contacts", "501", at, {**base, **values})


def test_a_refused_write_is_held_until_its_value_or_its_record_changes():
    pair = SyncPair("p1", lead(), contact(), desired={"lead_score": 70})
    [write] = [w for w in plan_object("contact", CONTACT, [pair], {}).writes if w.crm == "salesforce"]
    assert write.based_on == T0
    refused = {(write.fingerprint(), write.based_on)}

    again = plan_object("contact", CONTACT, [pair], {}, refused=refused)
    assert [w.crm for w in again.held] == ["salesforce"] and [w.crm for w in again.writes] == ["hubspot"]
    assert again.summary()["held_refused"] == 1 and again.api_calls() == {"hubspot.contacts.update": 1}

    # another value to write: a new write, sent
    rescored = SyncPair("p1", lead(), contact(), desired={"lead_score": 71})
    plan = plan_object("contact", CONTACT, [rescored], {}, refused=refused)
    assert plan.held == [] and {w.crm for w in plan.writes} == {"salesforce", "hubspot"}
    # the same value, but someone changed the record since (e.g. fixed what made the CRM refuse it)
    edited = SyncPair("p1", lead(at=T0 + timedelta(seconds=1)), contact(), desired={"lead_score": 70})
    plan = plan_object("contact", CONTACT, [edited], {}, refused=refused)
    assert plan.held == [] and {w.crm for w in plan.writes} == {"salesforce", "hubspot"}


def test_a_refused_create_is_held_while_its_payload_stays():
    pair = SyncPair("p9", hubspot=contact(revloop_id="p9", company="Acme"))
    [create] = [w for w in plan_object("contact", CONTACT, [pair], {}).writes if w.operation == "create"]
    assert create.record_id is None and create.based_on is None
    plan = plan_object("contact", CONTACT, [pair], {}, refused={(create.fingerprint(), None)})
    assert [w.operation for w in plan.held] == ["create"] and all(
        w.operation != "create" for w in plan.writes
    )


def test_a_record_revloop_created_is_untouched_while_its_last_author_is_revloop_whatever_the_clocks_say():
    """Salesforce gave the Lead revloop created its default status. The CRM clock runs 10 minutes ahead of
    ours: by times the Lead looks changed after revloop's last write; its author says it was not."""
    written = {("salesforce", "00QA", "Revloop_Id__c"): Written("p1", T0)}
    created = {("salesforce", "00QA")}
    ahead = lead(at=T0 + timedelta(minutes=10), by=REVLOOP_USER, Status="Open - Not Contacted")
    plan = plan_object(
        "contact",
        CONTACT,
        [SyncPair("p1", ahead, contact())],
        written,
        created=created,
        own_user=REVLOOP_USER,
    )
    assert plan.writes == []
    # a colleague's change stamped in the very second of revloop's write is theirs: its status flows
    edited = lead(at=T0, by=COLLEAGUE, Status="Working - Contacted")
    plan = plan_object(
        "contact",
        CONTACT,
        [SyncPair("p1", edited, contact())],
        written,
        created=created,
        own_user=REVLOOP_USER,
    )
    assert {(w.crm, w.record_id): w.fields for w in plan.writes} == {
        ("hubspot", "501"): {"hs_lead_status": "IN_PROGRESS"}
    }


def _baseline(c: duckdb.DuckDBPyConnection) -> datetime:
    return c.execute("select modified_before from activation.sync_record_baselines").fetchone()[0]


def test_a_salesforce_baseline_moves_only_for_another_authors_change():
    c = duckdb.connect()
    record_baselines(c, [lead(at=T0, by=COLLEAGUE)], REVLOOP_USER)
    assert _baseline(c) == T0
    # an hour later, but revloop's own write (the CRM's clock says nothing about who changed it)
    record_baselines(c, [lead(at=datetime.now(UTC) + timedelta(hours=1), by=REVLOOP_USER)], REVLOOP_USER)
    assert _baseline(c) == T0
    # a colleague's change in the same second as revloop's write: the new baseline
    edited = datetime.now(UTC)
    record_baselines(c, [lead(at=edited, by=COLLEAGUE)], REVLOOP_USER)
    assert _baseline(c) == edited
    # the models compare the record's author with the user revloop wrote as
    assert c.execute("select written_by from activation.sync_record_baselines").fetchone()[0] == REVLOOP_USER


def test_a_create_whose_answer_was_lost_is_still_a_record_revloop_created():
    store = ActivationStore(duckdb.connect())
    made = RecordWrite("salesforce", "Lead", "create", "p1", None, {"Revloop_Id__c": "p1", "LastName": "Lee"})
    again = RecordWrite(
        "salesforce", "Lead", "create", "p2", None, {"Revloop_Id__c": "p2", "LastName": "Kim"}
    )
    # the second create's answer was lost; the retried upsert met the record the first try made: 'updated'
    store.record(
        "r1", "contact", [WriteResult(made, "created", "00QA"), WriteResult(again, "updated", "00QB")]
    )
    assert created_records(store.connection) == {("salesforce", "00QA"), ("salesforce", "00QB")}
