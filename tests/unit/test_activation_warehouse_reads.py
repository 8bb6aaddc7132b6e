"""What the sync reads of the warehouse: only the mapped columns of the current CRM records, the HubSpot
associations still live, the records revloop created."""

from datetime import UTC, datetime

import pytest

from activation.warehouse_state import current_records, hubspot_associations
from revloop.warehouse import connect_warehouse

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def con(warehouse):
    with connect_warehouse(warehouse) as connection:
        connection.execute("create schema activation")
        connection.execute("create schema raw_hubspot")
        yield connection


def test_current_records_carry_the_asked_fields_under_their_api_names_and_nothing_else(con):
    con.execute(
        "create table activation.crm_salesforce__lead as select '00QA' as id,"
        " ?::timestamptz as system_modstamp, '005X' as last_modified_by_id,"
        " 'ann@acme.io' as email, 'Lee' as last_name,"
        " 'x' as description, 7 as hub_spot_id__c",
        [T0],
    )
    records = current_records(con, "salesforce", "Lead", ["Email", "LastName", "HubSpot_Id__c", "Phone"])
    assert list(records) == ["00QA"]
    lead = records["00QA"]
    assert (lead.crm, lead.object_name, lead.record_id, lead.modified_at, lead.modified_by) == (
        "salesforce", "Lead", "00QA", T0, "005X",
    )
    # an unmapped raw column (description) is left out; a field without a column (Phone) is absent
    assert lead.values == {"Email": "ann@acme.io", "LastName": "Lee", "HubSpot_Id__c": 7}


def test_hubspot_records_name_no_author_and_a_missing_model_reads_as_none(con):
    con.execute(
        "create table activation.crm_hubspot__contacts as select '501' as id, ?::timestamptz as updated_at,"
        " 'ann@acme.io' as email from range(3) t(i) where i = 0",
        [T0],
    )
    [contact] = current_records(con, "hubspot", "contacts", ["email", "revloop_id"]).values()
    assert (contact.record_id, contact.modified_at, contact.modified_by) == ("501", T0, None)
    assert contact.values == {"email": "ann@acme.io"}
    assert current_records(con, "hubspot", "companies", ["name"]) == {}


def test_associations_are_read_per_target_type_without_removed_ones(con):
    assert hubspot_associations(con, "contacts", "companies") == set()
    con.execute(
        "create table raw_hubspot.contact_company_associations as from (values"
        " (501, 'companies', 9001, null), (502, 'companies', 9002, true), (503, 'companies', 9003, false),"
        " (501, 'companies', 9001, false), (504, 'deals', 7001, null)) t(from_id, to_type, to_id, is_removed)"
    )
    assert hubspot_associations(con, "contacts", "companies") == {("501", "9001"), ("503", "9003")}
    con.execute("create table raw_hubspot.deal_associations (from_id text, to_type text, to_id text)")
    con.execute("insert into raw_hubspot.deal_associations values ('7001', 'contacts', '501')")
    assert hubspot_associations(con, "deals", "contacts") == {("7001", "501")}
