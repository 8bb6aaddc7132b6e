"""Pairs built from the warehouse: sync_* desired-state rows joined to the current CRM records (dbt's crm_*
models: the newest live version of each raw record, by the rule staging uses too)."""

from pathlib import Path

import duckdb
import pytest

from activation.plan import plan_object
from activation.warehouse_state import load_pairs
from revloop.config.sync import load_sync_config
from tests.fixtures.dbt import assert_dbt_ok, run_dbt

CONTACT = load_sync_config().objects["contact"]
ENRICHED_NULLS = (
    "null as churn_risk, null as purchase_likelihood, null as engagement_potential, null as segments"
)


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory) -> Path:
    """Raw CRM rows with old versions, soft, hard and archived deletions; dbt's current records over them."""
    work = tmp_path_factory.mktemp("warehouse_state")
    path = work / "warehouse.duckdb"
    with duckdb.connect(str(path)) as c:
        c.execute(f"""
        create schema raw_salesforce; create schema raw_hubspot; create schema activation;
        create table raw_salesforce.contact (id varchar, system_modstamp timestamptz, is_deleted boolean,
            email varchar, first_name varchar, last_name varchar, lead_score__c double, revloop_id__c varchar,
            hub_spot_id__c varchar, _dlt_load_id varchar);
        insert into raw_salesforce.contact values
            ('003A', '2026-11-01', false, 'ann@acme.io', 'Ann', 'Lee', 10, 'p1', '501', '1'),
            ('003A', '2026-11-02', false, 'ann@acme.io', 'Annie', 'Lee', 10, 'p1', '501', '2'),
            ('003B', '2026-11-01', true, 'old@acme.io', 'Old', 'Gone', null, null, null, '2'),
            ('003D', '2026-11-01', false, 'hard@acme.io', 'Hard', 'Gone', null, null, null, '1');
        -- Get Deleted listed 003D after its last change: a hard delete no query returns any more
        create table raw_salesforce.deleted_records (id varchar, object_name varchar,
            deleted_date timestamptz);
        insert into raw_salesforce.deleted_records values ('003D', 'Contact', '2026-11-03');
        create table raw_salesforce.lead (id varchar, system_modstamp timestamptz, is_deleted boolean,
            is_converted boolean, email varchar, last_name varchar, company varchar, _dlt_load_id varchar);
        insert into raw_salesforce.lead values ('00QC', '2026-11-01', false, true, 'c@x.io', 'C', 'X', '1');
        create table raw_hubspot.contacts (id varchar, updated_at timestamptz, archived boolean,
            email varchar, firstname varchar, lastname varchar, revloop_id varchar, salesforce_id varchar,
            _dlt_load_id varchar);
        insert into raw_hubspot.contacts values
            ('501', '2026-11-01', false, 'ann@acme.io', 'Ann', 'Lee', 'p1', '003A', '1'),
            ('502', '2026-11-01', false, 'dan@gamma.io', 'Dan', 'Fox', null, null, '1'),
            -- a replayed older version loaded later: the newest change wins, not the newest load
            ('502', '2026-10-01', false, 'dan@gamma.io', 'Daniel', 'Fox', null, null, '2'),
            ('503', '2026-11-01', true, 'arch@gamma.io', 'Arch', 'Ived', null, null, '1');
        create table activation.sync_salesforce__contacts as
            select '003A' as contact_id, 'p1' as revloop_id, true as is_primary, '501' as hubspot_contact_id,
                   10.0 as lead_score, {ENRICHED_NULLS}
            union all select '003B', 'p2', true, null, 1, null, null, null, null
            union all select '003D', 'p5', true, null, 1, null, null, null, null;
        create table activation.sync_salesforce__leads as
            select '00QC' as lead_id, 'p3' as revloop_id, true as is_primary, null as hubspot_contact_id,
                   null as lead_score, {ENRICHED_NULLS};
        create table activation.sync_hubspot__contacts as
            select '501' as hubspot_contact_id, 'p1' as revloop_id, true as is_primary,
                   '003A' as salesforce_id, 10.0 as lead_score, {ENRICHED_NULLS}
            union all select '502', 'p4', true, null, 3, null, null, null, null
            union all select '503', 'p6', true, null, 2, null, null, null, null;
        """)
    models = ["crm_salesforce__contact", "crm_salesforce__lead", "crm_hubspot__contacts"]
    staging = ["stg_salesforce__contacts", "stg_salesforce__leads", "stg_hubspot__contacts"]
    assert_dbt_ok(run_dbt(["run", "--select", *models, *staging], work, {"WAREHOUSE_PATH": str(path)}))
    return path


@pytest.fixture
def warehouse(warehouse_file):
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        yield connection


def test_pairs_use_the_newest_live_rows_and_skip_deleted_and_converted(warehouse):
    pairs = {p.key: p for p in load_pairs(warehouse, CONTACT)}
    # 003B is soft-deleted, 003D hard-deleted, 00QC a converted Lead, 503 archived
    assert set(pairs) == {"p1", "p4"}
    assert pairs["p1"].salesforce.values["FirstName"] == "Annie"
    assert pairs["p4"].hubspot.values["firstname"] == "Dan"
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


def test_the_sync_sees_the_records_staging_sees(warehouse):
    """One definition of the current record: the sync's records are staging's (but converted Leads)."""
    for model, staged, key in (
        ("crm_salesforce__contact", "stg_salesforce__contacts", "contact_id"),
        ("crm_salesforce__lead", "stg_salesforce__leads where not is_converted", "lead_id"),
        ("crm_hubspot__contacts", "stg_hubspot__contacts", "contact_id"),
    ):
        current = warehouse.execute(f"select id from activation.{model} order by 1").fetchall()
        assert current == warehouse.execute(f"select {key} from staging.{staged} order by 1").fetchall()
    names = "select id, firstname from activation.crm_hubspot__contacts order by 1"
    assert warehouse.execute(names).fetchall() == [("501", "Ann"), ("502", "Dan")]
