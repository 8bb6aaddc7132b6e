"""Exactly once under faults: writes the CRM committed but whose answer was lost (a 503 or a dropped
connection), partial 207 answers, refused credentials, and refusals logged once however often they repeat."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from activation.associations import Association, write_associations
from activation.hubspot_writer import write_hubspot
from activation.plan import CrmRecord, Plan, RecordWrite, Rejection, SyncPair, plan_object
from activation.store import ActivationStore
from activation.sync import run_plan
from ingestion.hubspot.client import HubSpotConnection
from ingestion.salesforce.client import SalesforceConnection, connect
from revloop.config.sync import load_sync_config
from sandbox.server import RESET


@pytest.fixture
def hs(hs_sandbox):
    """hubspot-api-client with the retry policy revloop runs with."""
    return HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert)).hubspot()


@pytest.fixture
def sf(sf_sandbox):
    """simple-salesforce on the retrying session revloop runs with."""
    return connect(
        SalesforceConnection(
            instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
        )
    )


@pytest.fixture
def store(tmp_path):
    return ActivationStore(duckdb.connect(str(tmp_path / "wh.duckdb")))


def _contact_create(email: str, **fields) -> RecordWrite:
    values = {"email": email, "revloop_id": email, "firstname": "P", **fields}
    return RecordWrite("hubspot", "contacts", "create", email, None, values, {}, dict(values))


def _lead_create(email: str) -> RecordWrite:
    values = {"Revloop_Id__c": email, "LastName": "P", "Company": "Acme", "Email": email}
    return RecordWrite("salesforce", "Lead", "create", email, None, values, {}, dict(values))


def _status_log(store: ActivationStore) -> dict[str, int]:
    return dict(
        store.connection.execute("select status, count(*) from activation.sync_log group by 1").fetchall()
    )


@pytest.mark.parametrize("lost_answer", [503, RESET])
def test_hubspot_upsert_whose_answer_is_lost_creates_each_contact_once(hs_sandbox, hs, store, lost_answer):
    hs_sandbox.emulator.faults.fail_after_commit(lost_answer, 1, "/batch/upsert", "POST")
    writes = [_contact_create(f"p{i}@acme.io") for i in range(3)]
    report = run_plan(Plan("contact", writes), store, None, hs, "contacts")
    emails = sorted(r["properties"]["email"] for r in hs_sandbox.emulator.records("contacts"))
    assert emails == ["p0@acme.io", "p1@acme.io", "p2@acme.io"]  # no duplicate
    upserts = hs_sandbox.emulator.requests_to("/batch/upsert", "POST")
    assert [r.status for r in upserts] == [0 if lost_answer == RESET else 503, 200]
    # the retry met the records the lost call created: logged as written, remembered for the echo check
    assert report.errors == [] and sum(report.statuses.values()) == 3 and "failed" not in report.statuses
    assert len([k for k in store.written() if k[2] == "email"]) == 3


@pytest.mark.parametrize("lost_answer", [503, RESET])
def test_salesforce_upsert_whose_answer_is_lost_creates_each_lead_once(sf_sandbox, sf, store, lost_answer):
    sf_sandbox.emulator.faults.fail_after_commit(lost_answer, 1, "/composite/sobjects/Lead/", "PATCH")
    writes = [_lead_create(f"p{i}@acme.io") for i in range(3)]
    report = run_plan(Plan("contact", writes), store, sf, None, "contacts")
    keys = sorted(r["Revloop_Id__c"] for r in sf_sandbox.emulator.records("Lead"))
    assert keys == ["p0@acme.io", "p1@acme.io", "p2@acme.io"]
    calls = sf_sandbox.emulator.requests_to("/composite/sobjects/Lead/", "PATCH")
    assert [r.status for r in calls] == [0 if lost_answer == RESET else 503, 200]
    assert report.statuses == {"updated": 3}  # the retry found them: upserted, not created twice
    assert _status_log(store) == {"updated": 3}


def test_hubspot_update_whose_answer_is_lost_lands_once_and_is_logged(hs_sandbox, hs, store):
    ids = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": f"p{i}@x.io"}} for i in range(2)])
    writes = [
        RecordWrite(
            "hubspot", "contacts", "update", f"k{i}", ids[i], {"jobtitle": "CTO"}, {}, {"jobtitle": "CTO"}
        )
        for i in range(2)
    ]
    hs_sandbox.emulator.faults.fail_after_commit(RESET, 1, "/batch/update")
    report = run_plan(Plan("contact", writes), store, None, hs, "contacts")
    assert report.statuses == {"updated": 2}
    assert [r["properties"]["jobtitle"] for r in hs_sandbox.emulator.records("contacts")] == ["CTO", "CTO"]
    assert {(crm, rid) for crm, rid, _ in store.written()} == {("hubspot", i) for i in ids}


def test_property_creation_is_not_retried_blindly_after_a_lost_answer(hs_sandbox, hs, store):
    [contact_id] = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": "ann@acme.io"}}])
    hs_sandbox.emulator.faults.fail_after_commit(503, 1, "/crm/v3/properties/contacts", "POST")
    write = RecordWrite("hubspot", "contacts", "update", "ann", contact_id, {"lead_score": 70}, {}, {})
    report = run_plan(Plan("contact", [write]), store, None, hs, "contacts")
    creates = hs_sandbox.emulator.requests_to("/crm/v3/properties/contacts", "POST")
    assert [r.status for r in creates] == [503]  # committed once; looked up, not posted again
    assert report.statuses == {"updated": 1} and report.errors == []
    assert hs_sandbox.emulator.records("contacts")[0]["properties"]["lead_score"] == "70"


def test_association_whose_answer_is_lost_is_read_back_not_posted_again(hs_sandbox, hs):
    [deal] = hs_sandbox.emulator.seed("deals", [{"properties": {"dealname": "D"}}])
    [company] = hs_sandbox.emulator.seed("companies", [{"properties": {"name": "C"}}])
    hs_sandbox.emulator.faults.fail_after_commit(RESET, 1, "/batch/associate/default", "POST")
    results = write_associations(hs, [Association("deals", deal, "companies", company, "k")])
    assert [r.status for r in results] == ["associated"]
    assert len(hs_sandbox.emulator.requests_to("/batch/associate/default", "POST")) == 1
    assert len(hs_sandbox.emulator.requests_to("/associations/deals/companies/batch/read", "POST")) == 1


def test_partial_207_refused_records_are_logged_refused_and_not_remembered(hs_sandbox, hs, store):
    ids = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": f"p{i}@x.io"}} for i in range(3)])
    hs_sandbox.emulator.faults.refuse([ids[1]], "Property values were not valid")
    gone = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": "gone@x.io"}}])[0]
    hs_sandbox.emulator.stores["contacts"].get(gone).archived = True  # deleted between read and write
    writes = [
        RecordWrite(
            "hubspot", "contacts", "update", f"k{i}", rid, {"jobtitle": "CTO"}, {}, {"jobtitle": "CTO"}
        )
        for i, rid in enumerate([*ids, gone])
    ]
    for _ in range(2):  # the same refusals twice: one row each, counted
        report = run_plan(Plan("contact", writes), store, None, hs, "contacts")
        assert report.statuses == {"updated": 2, "refused": 2}
    assert len(hs_sandbox.emulator.requests_to("/batch/update", "POST")) == 2  # one call a run, no splitting
    assert {rid for _, rid, _ in store.written()} == {ids[0], ids[2]}
    refused = store.connection.execute(
        "select record_id, error, seen_count, first_seen_at < last_seen_at from activation.sync_log "
        "where status = 'refused' order by record_id"
    ).fetchall()
    assert [(r[0], r[2], r[3]) for r in refused] == sorted([(ids[1], 2, True), (gone, 2, True)])
    assert "Property values were not valid" in dict((r[0], r[1]) for r in refused)[ids[1]]


def test_salesforce_refused_record_is_logged_refused_and_the_others_land(sf_sandbox, sf, store):
    ids = sf_sandbox.emulator.seed(
        "Lead", [{"LastName": f"L{i}", "Company": "A", "Status": "Open - Not Contacted"} for i in range(2)]
    )
    sf_sandbox.emulator.faults.refuse([ids[0]], "Title is locked")
    writes = [
        RecordWrite("salesforce", "Lead", "update", f"k{i}", rid, {"Title": "CEO"}, {}, {"Title": "CEO"})
        for i, rid in enumerate(ids)
    ]
    report = run_plan(Plan("contact", writes), store, sf, None, "contacts")
    assert report.statuses == {"refused": 1, "updated": 1}
    assert {rid for _, rid, _ in store.written()} == {ids[1]}


def test_401_stops_hubspot_write_back_with_one_error_and_no_splitting(hs_sandbox, store):
    bad = HubSpotConnection("wrong-token", hs_sandbox.url, str(hs_sandbox.ca_cert)).hubspot()
    ids = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": f"p{i}@x.io"}} for i in range(150)])
    writes = [
        RecordWrite("hubspot", "contacts", "update", f"k{i}", rid, {"jobtitle": "CTO"})
        for i, rid in enumerate(ids)
    ] + [RecordWrite("hubspot", "companies", "update", "c", "1", {"name": "Acme"})]
    report = run_plan(Plan("contact", writes), store, None, bad, "contacts")
    assert len(report.errors) == 1 and "hubspot answered 401" in report.errors[0]
    assert report.statuses == {"failed": 151}
    assert len(hs_sandbox.emulator.request_log) == 1  # the properties read; nothing after it
    assert store.written() == {}
    assert "wrong-token" not in report.errors[0]


def test_write_hubspot_raises_access_denied_at_the_first_403(hs_sandbox):
    from activation.results import CrmAccessDenied

    bad = HubSpotConnection("wrong-token", hs_sandbox.url, str(hs_sandbox.ca_cert)).hubspot()
    writes = [
        RecordWrite("hubspot", "contacts", "update", f"k{i}", str(i), {"jobtitle": "x"}) for i in range(200)
    ]
    with pytest.raises(CrmAccessDenied):
        write_hubspot(bad, "contacts", writes)
    assert len(hs_sandbox.emulator.request_log) == 1


def test_a_rejection_repeating_unchanged_is_logged_once_and_counted(store):
    rejection = Rejection("salesforce", "Lead", "k1", "00Q1", "Email", "not-an-email", "invalid e-mail")
    for run in ("r1", "r2", "r3"):
        store.record(run, "contact", [], [rejection])
    changed = Rejection("salesforce", "Lead", "k1", "00Q1", "Email", "still-bad", "invalid e-mail")
    store.record("r4", "contact", [], [changed])
    rows = store.connection.execute(
        "select run_id, seen_count, first_seen_at < last_seen_at from activation.sync_log order by logged_at"
    ).fetchall()
    assert rows == [("r1", 3, True), ("r4", 1, False)]


def test_an_old_sync_log_is_migrated_and_its_repeated_refusals_collapsed(tmp_path):
    connection = duckdb.connect(str(tmp_path / "old.duckdb"))
    connection.execute(
        "create schema activation; create table activation.sync_log (run_id varchar, object varchar, "
        "crm varchar, crm_object varchar, record_id varchar, revloop_id varchar, operation varchar, "
        "fields varchar, status varchar, error varchar, logged_at timestamptz)"
    )
    for run, hour in (("r1", 1), ("r2", 2), ("r3", 3)):
        connection.execute(
            "insert into activation.sync_log values (?, 'contact', 'hubspot', 'contacts', '7', 'k', "
            "'reject', 'email', 'rejected', 'invalid', timestamptz '2026-12-01 00:00:00+00' + to_hours(?)), "
            "(?, 'contact', 'hubspot', 'contacts', '8', 'k8', 'update', 'email', 'updated', null, now())",
            [run, hour, run],
        )
    store = ActivationStore(connection)
    rows = connection.execute(
        "select status, run_id, seen_count, hour(first_seen_at at time zone 'UTC'), "
        "hour(last_seen_at at time zone 'UTC') from activation.sync_log where status = 'rejected'"
    ).fetchall()
    assert rows == [("rejected", "r1", 3, 1, 3)]
    assert _status_log(store) == {"rejected": 1, "updated": 3}
    ActivationStore(connection)  # a second open migrates nothing more
    assert _status_log(store) == {"rejected": 1, "updated": 3}


def test_a_refused_write_is_not_sent_again_until_its_value_or_its_record_changes(hs_sandbox, hs, store):
    """Write-back of a score into three HubSpot contacts; HubSpot refuses one of them (a validation rule)."""
    contact = load_sync_config().objects["contact"]
    ids = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": f"p{i}@x.io"}} for i in range(3)])
    hs_sandbox.emulator.faults.refuse([ids[1]], "lead_score is locked by a workflow")
    read_at = datetime(2026, 12, 1, tzinfo=UTC)

    def sync(score: float, modified: dict[str, datetime] | None = None) -> dict[str, int]:
        """Plan from the warehouse's memory (as run_sync does) and send; the record writes it took."""
        pairs = [
            SyncPair(
                f"k{i}",
                hubspot=CrmRecord("hubspot", "contacts", rid, (modified or {}).get(rid, read_at), {}),
                desired={"lead_score": score},
            )
            for i, rid in enumerate(ids)
        ]
        plan = plan_object(
            "contact", contact, pairs, store.written(), crms=("hubspot",), refused=store.refused()
        )
        before = len(hs_sandbox.emulator.requests_to("/batch/update", "POST"))
        report = run_plan(plan, store, None, hs, "contacts")
        return {
            **report.statuses,
            "calls": len(hs_sandbox.emulator.requests_to("/batch/update", "POST")) - before,
        }

    assert sync(70) == {"updated": 2, "refused": 1, "calls": 1}
    # nothing changed: the two written are remembered, the refused one is held; no call at all
    assert sync(70) == {"held": 1, "calls": 0}
    assert sync(70) == {"held": 1, "calls": 0}
    refused = store.connection.execute(
        "select record_id, seen_count, first_seen_at < last_seen_at from activation.sync_log "
        "where status = 'refused'"
    ).fetchall()
    assert refused == [(ids[1], 3, True)]  # one row: refused once, then seen unchanged twice
    # someone edits the refused contact (say, to unlock it): the write goes again
    hs_sandbox.emulator.faults.refused_ids.clear()
    edited = {ids[1]: read_at + timedelta(minutes=5)}
    assert sync(70, edited) == {"updated": 1, "calls": 1}
    assert sync(70, edited) == {"calls": 0}
    # a new score for everyone: a new write, refused or not
    hs_sandbox.emulator.faults.refuse([ids[0]], "lead_score is locked by a workflow")
    assert sync(71, edited) == {"updated": 2, "refused": 1, "calls": 1}
    assert sync(71, edited) == {"held": 1, "calls": 0}
