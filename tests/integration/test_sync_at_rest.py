"""Quiet at rest, end to end: after the first sync, a sync separated from it only by re-ingesting what it
wrote sends no write call, and the profiles do not move between the builds; after a sync that met lost
answers and refused records, the next one sends nothing. Each run's write calls, duplicates and full scans
are printed (-s)."""

import pytest
from hubspot.crm.contacts import SimplePublicObjectInput

from activation.run import run_sync
from benchmarks.crm import crm_origin
from benchmarks.sync import dbt, inject_faults, log_positions, print_run, run_sync_once, write_calls
from benchmarks.sync_at_rest import Round, build_world, run_rounds
from ingestion.hubspot import HubSpotConnection
from ingestion.load import load_source
from ingestion.salesforce.client import SalesforceConnection, connect
from revloop.warehouse import connect_warehouse
from sandbox.runner import SANDBOX_TOKEN, Sandbox
from tests.fixtures.shared import copy_warehouse

pytestmark = pytest.mark.slow
NO_CALLS = {"salesforce": 0, "hubspot": 0, "hubspot associations": 0}
NO_DUPLICATES = {"salesforce": 0, "hubspot": 0}


def _print(name: str, rounds: list[Round]) -> None:
    for n, r in enumerate(rounds, 1):
        print(
            f"\n{name} sync {n}: write calls {r.calls}, outcomes {r.outcomes}, duplicates {r.duplicates}, "
            f"full scans since the previous sync {r.scans}, moved {r.moved}"
        )


@pytest.fixture(scope="module")
def built_world(tmp_path_factory):
    """One world of 80 people and its warehouse, built once; each test syncs on a copy of the warehouse."""
    folder = tmp_path_factory.mktemp("at_rest")
    return build_world(people=80, seed=7, workdir=folder), folder / "warehouse.duckdb"


def _copy(built_world, tmp_path):
    world, warehouse = built_world
    copy_warehouse(warehouse, tmp_path / "warehouse.duckdb")
    return world


def test_second_sync_after_reingesting_the_first_writes_nothing_and_profiles_stay(built_world, tmp_path):
    first, second = run_rounds(_copy(built_world, tmp_path), tmp_path, rounds=2)
    _print("two runs:", [first, second])
    assert sum(first.calls.values()) > 0 and first.planned
    assert first.duplicates == second.duplicates == NO_DUPLICATES
    # the first sync's own writes changed no profile value; only the records it created joined profiles
    assert all(n == 0 for name, n in first.moved.items() if name != "crm links new"), first.moved
    assert second.calls == NO_CALLS and second.planned == {}
    # the ingestion between the syncs and the second sync read by cursor only
    assert second.scans == {"salesforce": 0, "hubspot": 0}
    assert set(second.moved.values()) == {0}


def test_a_sync_after_reading_again_only_one_crm_writes_nothing(built_world, tmp_path):
    """A sensor run for one CRM's change reads that CRM alone: the records the first sync created there come
    back before the other CRM's cross ids pointing at them do, with e-mails revloop wrote (no evidence).
    They join the people they were created for (new links, no new profile), and nothing is written again."""
    first, second, third = run_rounds(
        _copy(built_world, tmp_path), tmp_path, rounds=3, reads=[("hubspot",), ("salesforce",), ("hubspot",)]
    )
    _print("one CRM read between syncs:", [first, second, third])
    assert first.planned.get("hubspot.create") and first.planned.get("salesforce.create"), first.planned
    # after the first sync HubSpot is read, after the second Salesforce: the records each CRM got join
    for read_back in (first, second):
        assert all(n == 0 for name, n in read_back.moved.items() if name != "crm links new"), read_back.moved
    assert set(third.moved.values()) == {0}, third.moved
    for later in (second, third):
        assert later.calls == NO_CALLS and later.planned == {}, (later.planned, later.outcomes)
    assert first.duplicates == second.duplicates == third.duplicates == NO_DUPLICATES


def test_after_a_faulty_sync_nothing_is_duplicated_and_the_settle_sync_sends_nothing(built_world, tmp_path):
    """The first sync meets lost answers (commit then 503 or a dropped connection) on both CRMs' write
    endpoints and one record per CRM that refuses every write; the next sync has nothing new to send."""
    world = _copy(built_world, tmp_path)
    with Sandbox.start(tmp_path / "sandbox", world) as sandbox:
        warehouse = tmp_path / "warehouse.duckdb"
        inject_faults(sandbox)
        first = run_sync_once(sandbox, warehouse, log_positions(sandbox))
        second = run_sync_once(sandbox, warehouse, log_positions(sandbox))
        lost = [
            r
            for crm in ("salesforce", "hubspot")
            for r in getattr(sandbox, crm).app.request_log
            if r.status in (0, 503)
        ]
    print_run("\nfaulty sync", first)
    print_run("settle sync", second)
    assert len(lost) == 8  # every injected lost answer was met, and retried
    assert first.duplicates == second.duplicates == NO_DUPLICATES
    assert first.sent["refused"] >= 2 and sum(first.calls.values()) > 0
    # the refused writes are held (same record, same payload): no call at all
    assert second.calls == {"salesforce": 0, "hubspot": 0} and sum(second.planned.values()) == 0
    assert second.sent["held"] == 2 and not {"created", "updated", "refused", "failed"} & set(second.sent)
    assert second.scans == {"salesforce": 0, "hubspot": 0}


def _paired_contact(warehouse) -> tuple[str, str]:
    """A Salesforce Contact and its HubSpot partner holding the same e-mail (records that match)."""
    with connect_warehouse(warehouse, read_only=True) as connection:
        return connection.execute(
            "select s.contact_id, s.hubspot_contact_id from activation.sync_salesforce__contacts s"
            " join activation.crm_salesforce__contact c on c.id = s.contact_id"
            " join activation.crm_hubspot__contacts h on h.id = s.hubspot_contact_id"
            " where s.is_primary and lower(c.email) = lower(h.email) order by 1 limit 1"
        ).fetchall()[0]


def test_a_change_reaches_the_other_crm_in_a_sync_of_the_records_loaded_since_the_last(built_world, tmp_path):
    """The CRM change path syncs right after the loads, before any model is rebuilt: only the pairs holding a
    record loaded since the last finished sync are planned, on the last build's pairing. Views built before
    a field was loaded (the first sync created HubSpot properties) leave their object to the full sync."""
    world = _copy(built_world, tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    contact_id, hubspot_id = _paired_contact(warehouse)
    with Sandbox.start(tmp_path / "sandbox", world) as sandbox:
        ca_bundle = str(sandbox.tls.ca_bundle)
        sf = connect(SalesforceConnection(sandbox.salesforce.url, SANDBOX_TOKEN, ca_bundle=ca_bundle))
        hs = HubSpotConnection(SANDBOX_TOKEN, sandbox.hubspot.url, ca_bundle).hubspot()
        with connect_warehouse(warehouse) as connection:
            before_any = run_sync(connection, sf, hs, changed_only=True)
        run_sync_once(sandbox, warehouse, log_positions(sandbox))
        title = "Head of Near Real Time"
        hs.crm.contacts.basic_api.update(hubspot_id, SimplePublicObjectInput(properties={"jobtitle": title}))
        for source in ("salesforce", "hubspot"):
            load_source(crm_origin(source, getattr(sandbox, source).url, SANDBOX_TOKEN, ca_bundle), warehouse)

        with connect_warehouse(warehouse) as connection:
            deferred = run_sync(connection, sf, hs, changed_only=True)
        dbt(["run", "--select", "path:models/sync"], warehouse, tmp_path)  # the views, as the next build
        with connect_warehouse(warehouse) as connection:
            every = run_sync(connection, sf, hs, dry_run=True)
            before = log_positions(sandbox)
            changed = run_sync(connection, sf, hs, changed_only=True)
            sent = write_calls(sandbox, before)
            again = run_sync(connection, sf, hs, changed_only=True)
        assert sf.Contact.get(contact_id)["Title"] == title

    # before a first sync has finished, the change path leaves every object to it
    assert all("no sync has finished yet" in r.notes[0] and not r.outcomes for r in before_any)
    [contacts] = [r for r in deferred if r.object_key == "contact"]
    assert "crm_hubspot__contacts lack fields loaded since" in contacts.notes[0] and not contacts.outcomes
    # the same records again (the deferred sync moved no watermark); beside the change, the first sync's own
    # writes came back: nothing to send for them, and the rejections of every sync
    outcomes = {r.object_key: r.outcomes for r in changed if r.outcomes}
    assert {k: n for k, n in outcomes["contact"].items() if not k.endswith(".rejected")} == {
        "salesforce.Contact.update.updated": 1
    }
    assert outcomes.keys() == {"contact"} and sent == {"salesforce": 1, "hubspot": 0}
    planned = {r.object_key: r.plan["pairs_planned"] for r in changed}
    assert 0 < planned["contact"] <= {r.object_key: r.plan["pairs_planned"] for r in every}["contact"]
    # nothing was loaded since: no pair is planned, nothing sent
    assert {r.object_key: r.plan["pairs_planned"] for r in again} == dict.fromkeys(planned, 0)
    assert not any(r.outcomes or r.api_calls for r in again)
