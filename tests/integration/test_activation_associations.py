"""Deal associations and key-releasing writes against the sandbox CRMs with the real clients."""

from datetime import UTC, datetime

import duckdb
import pytest

from activation.hubspot_writer import ensure_properties
from activation.plan import Plan, RecordWrite
from activation.run import run_sync
from activation.store import ActivationStore
from activation.sync import run_plan

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _association_calls(emulator) -> list:
    return [r for r in emulator.request_log if "/crm/v4/associations/" in r.path and r.method == "POST"]


@pytest.fixture
def deal_warehouse(sf_sandbox, hs_sandbox, tmp_path):
    """Two Opportunities in Salesforce (one of them without an Account), their Accounts' partner company in
    HubSpot, and the warehouse as ingestion and dbt leave it (no deal in HubSpot yet)."""
    [paired, lonely] = sf_sandbox.emulator.seed(
        "Account", [{"Name": "Acme", "Website": "acme.io"}, {"Name": "Solo", "Website": "solo.io"}]
    )
    [company] = hs_sandbox.emulator.seed("companies", [{"properties": {"name": "Acme", "domain": "acme.io"}}])
    opportunities = sf_sandbox.emulator.seed(
        "Opportunity",
        [
            {
                "Name": "Acme renewal",
                "StageName": "Prospecting",
                "CloseDate": "2026-12-01",
                "AccountId": paired,
            },
            {
                "Name": "Solo pilot",
                "StageName": "Prospecting",
                "CloseDate": "2026-12-15",
                "AccountId": lonely,
            },
        ],
    )
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("create schema activation")
    # the current Opportunities as dbt's crm_salesforce__opportunity gives them
    con.execute(
        """create table activation.crm_salesforce__opportunity (id varchar, system_modstamp timestamptz,
            is_deleted boolean, name varchar, stage_name varchar, close_date date, amount double,
            revloop_id__c varchar, hub_spot_id__c varchar)"""
    )
    con.executemany(
        "insert into activation.crm_salesforce__opportunity"
        " values (?, ?, false, ?, 'Prospecting', ?, null, null, null)",
        [
            (opportunities[0], T0, "Acme renewal", "2026-12-01"),
            (opportunities[1], T0, "Solo pilot", "2026-12-15"),
        ],
    )
    # sync_salesforce__opportunities: only Acme's Account has a HubSpot partner (same domain)
    con.execute(
        "create table activation.sync_salesforce__opportunities as"
        " select * from (values (?, ?, ?), (?, ?, null))"
        " as t(opportunity_id, account_id, hubspot_company_id)",
        [opportunities[0], paired, company, opportunities[1], lonely],
    )
    return con, company


def test_created_deals_are_associated_with_their_company_once(
    deal_warehouse, sf_client, hs_client, hs_sandbox
):
    con, company = deal_warehouse
    # two deals created, each Opportunity given its key and its deal's id, one deal associated
    [report] = run_sync(con, sf_client, hs_client, objects=["deal"])
    assert report.errors == [] and report.statuses == {"created": 2, "updated": 4, "associated": 1}
    deals = {d["properties"]["dealname"]: d["id"] for d in hs_sandbox.emulator.records("deals")}
    acme = hs_client.crm.associations.v4.basic_api.get_page("deals", deals["Acme renewal"], "companies")
    assert [str(r.to_object_id) for r in acme.results] == [company]
    solo = hs_client.crm.associations.v4.basic_api.get_page("deals", deals["Solo pilot"], "companies")
    assert solo.results == []  # its Account has no HubSpot partner: nothing to associate
    assert (
        report.api_calls["hubspot.deals.associate"]
        == 1
        == report.api_calls_minimum["hubspot.deals.associate"]
    )
    logged = con.execute(
        "select record_id, fields, status from activation.sync_log where operation = 'associate'"
    ).fetchall()
    assert logged == [(deals["Acme renewal"], f"companies:{company}", "associated")]

    # a rerun before the next ingestion knows the deals and the association from the activation store
    calls = len(_association_calls(hs_sandbox.emulator))
    [rerun] = run_sync(con, sf_client, hs_client, objects=["deal"])
    assert rerun.statuses == {} and rerun.api_calls == {}
    assert len(_association_calls(hs_sandbox.emulator)) == calls


def test_a_key_moved_by_a_merge_is_released_before_it_is_taken(hs_sandbox, hs_client, tmp_path):
    ensure_properties(hs_client, "contacts", ["revloop_id"])  # unique, as revloop creates it
    old, new = hs_sandbox.emulator.seed(
        "contacts",
        [
            {"properties": {"email": "ann@acme.io", "revloop_id": "p1"}},
            {"properties": {"email": "ann.lee@acme.io"}},
        ],
    )
    # the taker comes first in the plan, as it may after a merge; one batch would be refused with a 409
    writes = [
        RecordWrite("hubspot", "contacts", "update", "p1", new, {"revloop_id": "p1"}, {"revloop_id": None}),
        RecordWrite(
            "hubspot",
            "contacts",
            "update",
            f"p1:{old}",
            old,
            {"revloop_id": f"p1:{old}"},
            {"revloop_id": "p1"},
        ),
    ]
    store = ActivationStore(duckdb.connect(str(tmp_path / "wh.duckdb")))
    report = run_plan(Plan("contact", writes), store, None, hs_client, "contacts")
    assert report.statuses == {"updated": 2} and report.api_calls == {"hubspot.contacts.update": 2}
    keys = {r["id"]: r["properties"]["revloop_id"] for r in hs_sandbox.emulator.records("contacts")}
    assert keys == {new: "p1", old: f"p1:{old}"}
