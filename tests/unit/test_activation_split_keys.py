"""A profile split moves a revloop key: the write-back follows the new ids and never lands on the old holder.

After run 1 merged Anna's Salesforce Lead with Bob's HubSpot contact (profile p1), a split leaves p1 with
Anna and gives Bob p2. Bob's contact releases p1; Anna's missing HubSpot contact takes it.
"""

from datetime import UTC, datetime
from types import SimpleNamespace

from activation.plan import CrmRecord, SyncPair, Written, plan_object, release_phases
from activation.store import ActivationStore
from activation.sync import run_plan
from revloop.config.sync import load_sync_config
from revloop.warehouse import connect_warehouse

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
CONTACT = load_sync_config().objects["contact"]


def split_pairs() -> tuple[list[SyncPair], dict]:
    anna = CrmRecord(
        "salesforce",
        "Lead",
        "00QA",
        T0,
        {"Email": "anna@acme.io", "LastName": "Lee", "Company": "Acme", "Revloop_Id__c": "p1"},
    )
    bob = CrmRecord(
        "hubspot",
        "contacts",
        "501",
        T0,
        {"email": "bob@acme.io", "lastname": "Fox", "company": "Acme", "revloop_id": "p1"},
    )
    written = {
        ("salesforce", "00QA", "Revloop_Id__c"): Written("p1", T0),
        ("hubspot", "501", "revloop_id"): Written("p1", T0),
    }
    return [SyncPair("p1", anna, None), SyncPair("p2", None, bob)], written


def test_a_key_released_by_a_split_is_taken_by_a_record_created_after_the_release():
    pairs, written = split_pairs()
    plan = plan_object("contact", CONTACT, pairs, written)
    phases = [
        {
            (w.crm, w.operation, w.record_id, w.fields.get("revloop_id") or w.fields.get("Revloop_Id__c"))
            for w in phase
        }
        for phase in release_phases(plan.writes)
    ]
    # Bob's contact gives p1 up first; then Anna gets her HubSpot contact under p1, and Bob his Lead under p2
    assert phases == [
        {("hubspot", "update", "501", "p2"), ("salesforce", "create", None, "p2")},
        {("hubspot", "create", None, "p1")},
    ]
    [anna_contact] = [w for w in plan.writes if w.crm == "hubspot" and w.operation == "create"]
    assert anna_contact.fields["email"] == "anna@acme.io"


def test_a_key_held_by_a_record_the_warehouse_does_not_show_yet_still_blocks_a_create():
    # revloop gave p1 to contact 999 (created by the last run, not ingested yet): Anna has her contact
    pairs, written = split_pairs()
    written[("hubspot", "999", "revloop_id")] = Written("p1", T0)
    del written[("hubspot", "501", "revloop_id")]
    plan = plan_object("contact", CONTACT, pairs[:1], written)
    assert [w for w in plan.writes if w.operation == "create"] == []


def test_when_the_release_fails_the_record_taking_the_key_is_not_sent(monkeypatch):
    import activation.sync as sync

    sent: list[tuple[str, str, str | None]] = []

    def fake_send(self, writes):
        sent.extend((w.crm, w.operation, w.record_id) for w in writes)
        return [
            sync.WriteResult(w, "refused" if w.operation == "update" else "created", w.record_id or "new")
            for w in writes
        ]

    monkeypatch.setattr(sync._Sender, "send", fake_send)
    pairs, written = split_pairs()
    plan = plan_object("contact", CONTACT, pairs, written)
    with connect_warehouse(":memory:") as connection:
        report = run_plan(plan, ActivationStore(connection), SimpleNamespace(), SimpleNamespace(), "contacts")
    # Bob's contact refused to give p1 up: an upsert of Anna's new contact by p1 would land on it
    assert ("hubspot", "create", None) not in sent
    assert report.outcomes["hubspot.contacts.create.skipped"] == 1
