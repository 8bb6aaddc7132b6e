"""OpportunityContactRole: the sandbox answers as Salesforce documents it, and ingestion loads it in deltas,
deletes included, into stg_salesforce__opportunity_contact_roles."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import duckdb
import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from ingestion.salesforce import DATASET_NAME, PIPELINE_NAME, salesforce_source
from ingestion.salesforce.client import SalesforceConnection
from revloop.warehouse import make_pipeline
from tests.fixtures.dbt import assert_dbt_ok, run_dbt


@pytest.fixture
def deal(sf_sandbox):
    """An Account with an Opportunity, two Contacts and a Lead."""
    emulator = sf_sandbox.emulator
    [account] = emulator.seed("Account", [{"Name": "Acme", "Website": "acme.io"}])
    [opportunity] = emulator.seed(
        "Opportunity",
        [{"Name": "Acme deal", "StageName": "Prospecting", "CloseDate": "2026-12-01", "AccountId": account}],
    )
    ann, bob = emulator.seed(
        "Contact", [{"LastName": "Ann", "AccountId": account}, {"LastName": "Bob", "AccountId": account}]
    )
    [lead] = emulator.seed("Lead", [{"LastName": "Cy", "Company": "Acme"}])
    return opportunity, ann, bob, lead


def _error_code(exc: SalesforceMalformedRequest) -> str:
    return exc.content[0]["errorCode"]


def test_contact_roles_follow_the_documented_rules(sf_client, sf_sandbox, deal):
    opportunity, ann, bob, lead = deal
    roles = sf_client.OpportunityContactRole
    described = {f["name"]: f for f in roles.describe()["fields"]}
    assert described["OpportunityId"]["createable"] and not described["OpportunityId"]["updateable"]
    assert described["ContactId"]["referenceTo"] == ["Contact"] and not described["ContactId"]["nillable"]

    first = roles.create({"OpportunityId": opportunity, "ContactId": ann, "IsPrimary": True})["id"]
    second = roles.create({"OpportunityId": opportunity, "ContactId": bob, "Role": "Decision Maker"})["id"]
    # only Contacts play roles; OpportunityId is required and fixed once set
    with pytest.raises(SalesforceMalformedRequest) as refused:
        roles.create({"OpportunityId": opportunity, "ContactId": lead})
    assert _error_code(refused.value) == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        roles.create({"ContactId": ann})
    assert _error_code(refused.value) == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        roles.update(second, {"OpportunityId": opportunity})
    assert _error_code(refused.value) == "INVALID_FIELD_FOR_INSERT_UPDATE"

    # one primary per Opportunity: a new primary takes the flag from the old one
    roles.update(second, {"IsPrimary": True})
    primary = {r["Id"]: r["IsPrimary"] for r in sf_client.query(
        f"SELECT Id, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{opportunity}'"
    )["records"]}
    assert primary == {first: False, second: True}

    # deleting the Opportunity deletes its roles: to the recycle bin with it
    sf_client.Opportunity.delete(opportunity)
    assert sf_client.query("SELECT Id FROM OpportunityContactRole")["totalSize"] == 0
    binned = sf_client.query("SELECT Id, IsDeleted FROM OpportunityContactRole", include_deleted=True)
    assert {(r["Id"], r["IsDeleted"]) for r in binned["records"]} == {(first, True), (second, True)}


def _load(sf_sandbox) -> None:
    connection = SalesforceConnection(
        instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle
    )
    source = salesforce_source(connection, objects=("OpportunityContactRole",))
    make_pipeline(PIPELINE_NAME, DATASET_NAME).run(source)


def _sql(warehouse, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def _role_queries(sf_sandbox) -> list[str]:
    queries = [unquote_plus(r.query) for r in sf_sandbox.emulator.request_log if "/query" in r.path]
    return [q for q in queries if "FROM OpportunityContactRole" in q]


def test_contact_roles_load_in_deltas_and_deleted_ones_leave_staging(
    sf_sandbox, sf_client, deal, warehouse, tmp_path
):
    opportunity, ann, bob, _ = deal
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    kept, dropped = sf_sandbox.emulator.seed(
        "OpportunityContactRole",
        [
            {"OpportunityId": opportunity, "ContactId": ann, "Role": "Economic Buyer", "IsPrimary": True,
             "CreatedDate": past},
            {"OpportunityId": opportunity, "ContactId": bob, "Role": "Evaluator", "CreatedDate": past},
        ],
    )
    _load(sf_sandbox)
    assert sorted(_sql(warehouse, "select id, role, is_primary, is_deleted"
                                  " from raw_salesforce.opportunitycontactrole")) == sorted(
        [(kept, "Economic Buyer", True, False), (dropped, "Evaluator", False, False)]
    )

    sf_client.OpportunityContactRole.delete(dropped)
    _load(sf_sandbox)
    # the second read asked for changes since the first (less the look-back), by SystemModstamp
    [first, second] = _role_queries(sf_sandbox)
    assert "WHERE" not in first and "WHERE SystemModstamp >= " in second
    assert dict(_sql(warehouse, "select id, is_deleted from raw_salesforce.opportunitycontactrole")) == {
        kept: False, dropped: True,
    }

    assert_dbt_ok(run_dbt(["run", "--select", "stg_salesforce__opportunity_contact_roles"], tmp_path))
    assert _sql(
        warehouse,
        "select contact_role_id, opportunity_id, contact_id, role, is_primary"
        " from staging.stg_salesforce__opportunity_contact_roles",
    ) == [(kept, opportunity, ann, "Economic Buyer", True)]
