"""The Salesforce sandbox driven by the real simple-salesforce client."""

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.salesforce.ids import make_id
from sandbox.salesforce.store import INTEGRATION_USER_ID
from tests.fixtures.salesforce import SalesforceSandbox, salesforce_client, trusting_session


class Clock:
    """A settable clock for the emulator."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def error_of(exc_info) -> dict:
    """The first Salesforce error object of a failed call."""
    content = exc_info.value.content
    return content[0]


def leads(n: int, **extra) -> list[dict]:
    return [{"LastName": f"Lead{i:05d}", "Company": f"Co {i % 7}", **extra} for i in range(n)]


def composite(sf, method: str, body: dict | None = None, path: str = "composite/sobjects", **params):
    data = None if body is None else json.dumps(body)
    return sf.restful(path, params=params or None, method=method, data=data)


# Query --------------------------------------------------------------------------------------------------
def test_query_pages_through_2000_record_batches(sf_sandbox, sf_client):
    sf_sandbox.emulator.seed("Lead", leads(4500))

    first = sf_client.query("SELECT Id, Name FROM Lead")
    assert first["totalSize"] == 4500
    assert first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v54.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")

    every = sf_client.query_all("SELECT Id, Name FROM Lead")["records"]
    assert len(every) == 4500
    assert len({r["Id"] for r in every}) == 4500
    assert every[0]["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v54.0/sobjects/Lead/{every[0]['Id']}",
    }


def test_query_all_includes_deleted_records_and_pages_too(sf_sandbox_factory):
    sandbox = sf_sandbox_factory(batch_size=5)
    sf = salesforce_client(sandbox)
    ids = sandbox.emulator.seed("Lead", leads(12))
    sf.Lead.delete(ids[3])

    live = sf.query_all("SELECT Id FROM Lead")["records"]
    everything = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)["records"]

    assert ids[3] not in {r["Id"] for r in live} and len(live) == 11
    assert len(everything) == 12
    assert [r["IsDeleted"] for r in everything if r["Id"] == ids[3]] == [True]
    with pytest.raises(SalesforceResourceNotFound) as exc_info:
        sf.Lead.get(ids[3])
    assert error_of(exc_info)["errorCode"] == "ENTITY_IS_DELETED"


def test_where_order_by_and_limit(sf_sandbox, sf_client):
    sf_sandbox.emulator.seed(
        "Opportunity",
        [
            {"Name": "Alpha", "StageName": "Prospecting", "Amount": 100.0, "CloseDate": "2024-01-15"},
            {"Name": "beta", "StageName": "Closed Won", "Amount": 250.5, "CloseDate": "2024-03-01"},
            {"Name": "Gamma", "StageName": "Closed Lost", "Amount": None, "CloseDate": "2024-02-10"},
            {
                "Name": "Delta",
                "StageName": "Qualification",
                "Amount": 250.5,
                "CloseDate": "2023-12-31",
                "CreatedDate": "2023-12-01T08:00:00.000+0000",
            },
        ],
    )

    def names(soql: str) -> list[str]:
        return [r["Name"] for r in sf_client.query(soql)["records"]]

    assert names("SELECT Name FROM Opportunity WHERE Name = 'BETA'") == ["beta"]  # case-insensitive like SOQL
    assert names("SELECT Name FROM Opportunity WHERE Amount > 100 ORDER BY Name") == ["beta", "Delta"]
    assert names("SELECT Name FROM Opportunity WHERE Amount = null") == ["Gamma"]
    assert names("SELECT Name FROM Opportunity WHERE IsWon = true") == ["beta"]
    assert names("SELECT Name FROM Opportunity WHERE IsClosed = false ORDER BY CloseDate") == [
        "Delta",
        "Alpha",
    ]
    assert names("SELECT Name FROM Opportunity WHERE CloseDate >= 2024-02-01 ORDER BY CloseDate DESC") == [
        "beta",
        "Gamma",
    ]
    assert names("SELECT Name FROM Opportunity WHERE CreatedDate < 2024-01-01T00:00:00Z") == ["Delta"]
    assert names("SELECT Name FROM Opportunity WHERE CreatedDate < 2023-12-01T09:30:00.000+01:00") == [
        "Delta"
    ]
    assert names("SELECT Name FROM Opportunity WHERE Name LIKE '%ta' ORDER BY Name") == ["beta", "Delta"]
    assert names(
        "SELECT Name FROM Opportunity WHERE StageName IN ('Closed Won', 'Closed Lost') ORDER BY Name"
    ) == ["beta", "Gamma"]
    assert names(
        "SELECT Name FROM Opportunity WHERE (Amount = 250.5 OR Name = 'Alpha') "
        "AND NOT StageName = 'Closed Won' ORDER BY Name"
    ) == ["Alpha", "Delta"]
    assert names("SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS FIRST, Name ASC LIMIT 3") == [
        "Gamma",
        "beta",
        "Delta",
    ]
    assert names("SELECT Name FROM Opportunity ORDER BY Amount") == ["Gamma", "Alpha", "beta", "Delta"]
    assert sf_client.query("SELECT COUNT() FROM Opportunity WHERE Amount != null")["totalSize"] == 3


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id FROM Lead WHERE LastName = 'a' AND Company = 'b' OR Email = 'c'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE LastName = 5", "INVALID_FIELD"),
    ],
)
def test_bad_queries_fail_like_salesforce(sf_client, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf_client.query(soql)
    assert error_of(exc_info)["errorCode"] == code


def test_unknown_field_error_points_at_the_column(sf_client):
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf_client.query("SELECT Id, Nope__c FROM Lead")
    message = error_of(exc_info)["message"]
    assert "ERROR at Row:1:Column:12" in message
    assert "No such column 'Nope__c' on entity 'Lead'" in message


def test_a_50k_record_query_serves_each_page_well_under_a_second(sf_sandbox, sf_client):
    sf_sandbox.emulator.seed(
        "Contact", [{"LastName": f"C{i}", "Email": f"c{i}@example.com"} for i in range(50_000)]
    )
    started = time.perf_counter()
    first = sf_client.query(
        "SELECT Id, Name, Email, LastModifiedDate FROM Contact WHERE Email LIKE 'c1%' ORDER BY Email"
    )
    first_page_s = time.perf_counter() - started
    started = time.perf_counter()
    second = sf_client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    next_page_s = time.perf_counter() - started

    assert first["totalSize"] == 11_111
    assert len(second["records"]) == 2000
    assert first_page_s < 1.0 and next_page_s < 0.5


# sObject rows -------------------------------------------------------------------------------------------
def test_create_read_update_delete(sf_sandbox, sf_client):
    created = sf_client.Lead.create(
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Company": "Engines",
            "Email": "ada@example.com",
            "Lead_Score__c": 0.75,
        }
    )
    assert created["success"] is True and created["errors"] == []
    assert created["id"].startswith("00Q") and len(created["id"]) == 18

    lead = sf_client.Lead.get(created["id"])
    assert lead["Name"] == "Ada Lovelace"
    assert lead["Status"] == "Open - Not Contacted"
    assert lead["OwnerId"] == INTEGRATION_USER_ID and lead["CreatedById"] == INTEGRATION_USER_ID
    assert lead["Lead_Score__c"] == 0.75

    assert sf_client.Lead.update(created["id"], {"LastName": "King", "Lead_Score__c": None}) == 204
    partial = sf_client.Lead.get(created["id"], params={"fields": "Name,Lead_Score__c"})
    assert {k: v for k, v in partial.items() if k != "attributes"} == {
        "Name": "Ada King",
        "Lead_Score__c": None,
    }

    assert sf_client.Lead.delete(created["id"]) == 204
    assert sf_sandbox.emulator.records("Lead") == []
    assert sf_sandbox.emulator.records("Lead", include_deleted=True)[0]["IsDeleted"] is True


def test_unknown_record_and_malformed_id(sf_client):
    with pytest.raises(SalesforceResourceNotFound) as exc_info:
        sf_client.Lead.get(make_id("00Q", 999))
    assert error_of(exc_info)["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf_client.Contact.create({"LastName": "X", "AccountId": "not-an-id"})
    assert error_of(exc_info) == {
        "message": "AccountId: id value of incorrect type: not-an-id",
        "errorCode": "MALFORMED_ID",
        "fields": ["AccountId"],
    }


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"LastName": "X", "Company": "C", "Shoe_Size__c": 9}, "INVALID_FIELD", None),
        ({"LastName": "X", "Company": "C", "Name": "Y"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"]),
        (
            {"LastName": "X", "Company": "C", "IsConverted": True},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["IsConverted"],
        ),
        ({"FirstName": "X"}, "REQUIRED_FIELD_MISSING", ["LastName", "Company"]),
        ({"LastName": "X" * 81, "Company": "C"}, "STRING_TOO_LONG", ["LastName"]),
        (
            {"LastName": "X", "Company": "C", "NumberOfEmployees": "many"},
            "JSON_PARSER_ERROR",
            ["NumberOfEmployees"],
        ),
        ({"LastName": "X", "Company": "C", "Email": "not an email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        (
            {"LastName": "X", "Company": "C", "OwnerId": make_id("005", 4242)},
            "INVALID_CROSS_REFERENCE_KEY",
            ["OwnerId"],
        ),
        (
            {"LastName": "X", "Company": "C", "OwnerId": make_id("001", 1)},
            "FIELD_INTEGRITY_EXCEPTION",
            ["OwnerId"],
        ),
    ],
)
def test_create_validation_errors(sf_client, body, code, fields):
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf_client.Lead.create(body)
    error = error_of(exc_info)
    assert error["errorCode"] == code
    assert error.get("fields") == fields


def test_unrestricted_picklists_accept_new_values(sf_client):
    created = sf_client.Lead.create({"LastName": "X", "Company": "C", "Industry": "Aerospace"})
    assert sf_client.Lead.get(created["id"])["Industry"] == "Aerospace"


@pytest.mark.parametrize("cleared", [None, ""])
def test_update_cannot_clear_required_fields(sf_client, cleared):
    created = sf_client.Lead.create({"LastName": "X", "Company": "C"})
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf_client.Lead.update(created["id"], {"Company": cleared})
    assert error_of(exc_info)["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf_client.Lead.get(created["id"])["Company"] == "C"


def test_derived_fields_follow_stage_and_status(sf_sandbox, sf_client):
    opp = sf_client.Opportunity.create(
        {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2025-06-30"}
    )
    sf_client.Opportunity.update(opp["id"], {"StageName": "Closed Won"})
    won = sf_client.Opportunity.get(opp["id"])
    assert (won["IsClosed"], won["IsWon"], won["CloseDate"]) == (True, True, "2025-06-30")

    lead = sf_client.Lead.create({"LastName": "Who", "Company": "C"})
    task = sf_client.Task.create({"Subject": "Call", "WhoId": lead["id"]})
    assert sf_client.Task.get(task["id"])["IsClosed"] is False
    sf_client.Task.update(task["id"], {"Status": "Completed"})
    assert sf_client.Task.get(task["id"])["IsClosed"] is True


def test_unique_external_id_rejects_duplicates(sf_client):
    sf_client.Contact.create({"LastName": "A", "Revloop_Id__c": "p-1"})
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf_client.Contact.create({"LastName": "B", "Revloop_Id__c": "P-1"})
    assert error_of(exc_info)["errorCode"] == "DUPLICATE_VALUE"


def test_upsert_by_external_id(sf_sandbox, sf_client):
    created = sf_client.Account.upsert("Revloop_Id__c/acc-1", {"Name": "Acme"}, raw_response=True)
    assert created.status_code == 201
    assert created.json()["created"] is True

    updated = sf_client.Account.upsert("Revloop_Id__c/acc-1", {"Name": "Acme Corp"}, raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    assert sf_client.Account.get_by_custom_id("Revloop_Id__c", "acc-1")["Name"] == "Acme Corp"
    assert len(sf_sandbox.emulator.records("Account")) == 1

    with pytest.raises(SalesforceResourceNotFound):
        sf_client.Account.upsert("HubSpot_Id__c/42", {"Name": "Not an external id"})


def test_upsert_with_several_matches_answers_300(sf_sandbox, sf_client):
    # Seeding trusts its input, which lets a test hold a clash a live org could only reach by data load.
    ids = sf_sandbox.emulator.seed(
        "Account", [{"Name": "One", "Revloop_Id__c": "dup"}, {"Name": "Two", "Revloop_Id__c": "dup"}]
    )
    with pytest.raises(SalesforceMoreThanOneRecord) as exc_info:
        sf_client.Account.upsert("Revloop_Id__c/dup", {"Name": "Three"})
    assert sorted(exc_info.value.content) == sorted(f"/services/data/v54.0/sobjects/Account/{i}" for i in ids)


# Timestamps ---------------------------------------------------------------------------------------------
def test_timestamps_follow_the_clock_at_millisecond_precision(sf_sandbox_factory):
    clock = Clock(datetime(2024, 5, 1, 12, 34, 56, 789999, tzinfo=UTC))
    sandbox = sf_sandbox_factory(clock=clock)
    sf = salesforce_client(sandbox)

    record_id = sf.Contact.create({"LastName": "Time"})["id"]
    clock.now += timedelta(hours=2)
    sf.Contact.update(record_id, {"Title": "CTO"})
    row = sf.query(
        f"SELECT CreatedDate, LastModifiedDate, SystemModstamp FROM Contact WHERE Id = '{record_id}'"
    )

    record = row["records"][0]
    assert record["CreatedDate"] == "2024-05-01T12:34:56.789+0000"
    assert record["LastModifiedDate"] == "2024-05-01T14:34:56.789+0000"
    assert record["SystemModstamp"] == record["LastModifiedDate"]
    changed = sf.query("SELECT Id FROM Contact WHERE LastModifiedDate > 2024-05-01T13:00:00Z")["records"]
    assert [r["Id"] for r in changed] == [record_id]

    clock.now += timedelta(hours=1)
    sf.Contact.delete(record_id)
    deleted = sf.query_all("SELECT SystemModstamp FROM Contact", include_deleted=True)["records"][0]
    assert deleted["SystemModstamp"] == "2024-05-01T15:34:56.789+0000"


# Collections --------------------------------------------------------------------------------------------
def test_collection_create_partial_success(sf_sandbox, sf_client):
    results = composite(
        sf_client,
        "POST",
        {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": "Ok", "Company": "C"},
                {"attributes": {"type": "Lead"}, "LastName": "Missing company"},
                {"attributes": {"type": "Contact"}, "LastName": "Also ok"},
            ],
        },
    )
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Company]",
                "fields": ["Company"],
            }
        ],
    }
    assert len(sf_sandbox.emulator.records("Lead")) == 1 and len(sf_sandbox.emulator.records("Contact")) == 1


def test_collection_all_or_none_rolls_everything_back(sf_sandbox, sf_client):
    existing = sf_client.Lead.create({"LastName": "Before", "Company": "C"})["id"]
    results = composite(
        sf_client,
        "PATCH",
        {
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Lead"}, "Id": existing, "LastName": "After"},
                {"attributes": {"type": "Lead"}, "Id": make_id("00Q", 777), "LastName": "Ghost"},
            ],
        },
    )
    assert results[0] == {
        "id": existing,
        "success": False,
        "errors": [
            {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using "
                "AllOrNone header",
                "fields": [],
            }
        ],
    }
    assert results[1]["errors"][0]["statusCode"] == "NOT_FOUND"
    assert sf_client.Lead.get(existing)["LastName"] == "Before"

    created = composite(
        sf_client,
        "POST",
        {
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": "New", "Company": "C"},
                {
                    "attributes": {"type": "Lead"},
                    "LastName": "Bad",
                    "Company": "C",
                    "Revloop_Id__c": "x" * 65,
                },
            ],
        },
    )
    assert (
        "id" not in created[0]
        and created[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    )
    assert created[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert [r["LastName"] for r in sf_sandbox.emulator.records("Lead")] == ["Before"]


def test_collection_update_retrieve_upsert_and_delete(sf_sandbox, sf_client):
    ids = sf_sandbox.emulator.seed("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    updated = composite(
        sf_client,
        "PATCH",
        {
            "records": [
                {"attributes": {"type": "Contact"}, "id": ids[0], "Title": "VP"},
                {"attributes": {"type": "Contact"}, "Id": ids[1], "Title": "CEO"},
            ]
        },
    )
    assert updated == [
        {"id": ids[0], "success": True, "errors": []},
        {"id": ids[1], "success": True, "errors": []},
    ]

    fetched = composite(
        sf_client, "GET", path="composite/sobjects/Contact", ids=",".join(ids), fields="Id,Title"
    )
    assert [r["Title"] for r in fetched] == ["VP", "CEO"]

    upserted = composite(
        sf_client,
        "PATCH",
        {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": "New", "Revloop_Id__c": "p-9"},
                {"attributes": {"type": "Contact"}, "LastName": "Other", "Revloop_Id__c": "p-9"},
            ],
        },
        path="composite/sobjects/Contact/Revloop_Id__c",
    )
    assert [r["created"] for r in upserted] == [True, False]
    assert upserted[0]["id"] == upserted[1]["id"]

    deleted = composite(sf_client, "DELETE", ids=f"{ids[0]},{ids[1]}", allOrNone="false")
    assert [r["success"] for r in deleted] == [True, True]
    assert [r["LastName"] for r in sf_sandbox.emulator.records("Contact")] == ["Other"]


def test_collections_refuse_more_than_200_records(sf_client):
    records = [{"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "C"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        composite(sf_client, "POST", {"records": records})
    assert error_of(exc_info)["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert composite(sf_client, "POST", {"records": records[:200]})[199]["success"] is True


def test_collection_with_a_type_error_fails_whole_request(sf_sandbox, sf_client):
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        composite(
            sf_client,
            "POST",
            {
                "records": [
                    {"attributes": {"type": "Lead"}, "LastName": "Fine", "Company": "C"},
                    {"attributes": {"type": "Lead"}, "LastName": "Bad", "Company": "C", "AnnualRevenue": [1]},
                ]
            },
        )
    assert error_of(exc_info)["errorCode"] == "JSON_PARSER_ERROR"
    assert sf_sandbox.emulator.records("Lead") == []


# Describe -----------------------------------------------------------------------------------------------
def test_describe_reports_revloop_custom_fields(sf_client):
    fields = {f["name"]: f for f in sf_client.Lead.describe()["fields"]}
    assert fields["Revloop_Id__c"]["externalId"] is True and fields["Revloop_Id__c"]["unique"] is True
    assert fields["Lead_Score__c"]["custom"] is True and fields["Lead_Score__c"]["type"] == "double"
    assert fields["Name"]["updateable"] is False
    assert "Closed - Converted" in [p["value"] for p in fields["Status"]["picklistValues"]]
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert {o["name"] for o in sf_client.describe()["sobjects"]} == {
        "Account",
        "Contact",
        "Opportunity",
        "Lead",
        "User",
        "Task",
        "OpportunityContactRole",
        "Group",
        "QueueSobject",
        "GroupMember",
    }


def test_org_without_revloop_fields_hides_them(sf_sandbox_factory):
    sf = salesforce_client(sf_sandbox_factory(with_revloop_fields=False))
    names = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert "Revloop_Id__c" not in names and "Lead_Score__c" not in names and "Email" in names
    with pytest.raises(SalesforceMalformedRequest) as exc_info:
        sf.query("SELECT Revloop_Id__c FROM Contact")
    assert error_of(exc_info)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.create({"LastName": "X", "Lead_Score__c": 1})


# Auth, limits and faults --------------------------------------------------------------------------------
def test_wrong_token_is_refused(sf_sandbox):
    sandbox = SalesforceSandbox(sf_sandbox.emulator, sf_sandbox.url, "stolen", sf_sandbox.ca_bundle)
    with pytest.raises(SalesforceExpiredSession) as exc_info:
        salesforce_client(sandbox).query("SELECT Id FROM Lead")
    assert exc_info.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_daily_request_limit(sf_sandbox_factory):
    sandbox = sf_sandbox_factory(request_limit=3)
    sf = salesforce_client(sandbox)
    sf.query("SELECT Id FROM Lead")
    assert sf.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 1}
    assert sf.api_usage["api-usage"].used == 2
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as exc_info:
        sf.query("SELECT Id FROM Lead")
    assert exc_info.value.status == 403
    assert exc_info.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_injected_faults_answer_like_salesforce(sf_sandbox, sf_client):
    sf_sandbox.emulator.faults.fail_next(429)
    with pytest.raises(SalesforceRefusedRequest) as exc_info:
        sf_client.query("SELECT Id FROM Lead")
    assert error_of(exc_info)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    sf_sandbox.emulator.faults.fail_next(500)
    with pytest.raises(SalesforceGeneralError) as exc_info:
        sf_client.query("SELECT Id FROM Lead")
    assert exc_info.value.status == 500 and error_of(exc_info)["errorCode"] == "UNKNOWN_EXCEPTION"
    assert sf_client.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_versions_and_retired_versions(sf_sandbox, sf_client):
    versions = trusting_session(sf_sandbox.ca_bundle).get(f"{sf_sandbox.url}/services/data/").json()
    assert versions[0] == {"label": "Spring '22", "url": "/services/data/v54.0", "version": "54.0"}
    old = salesforce_client(sf_sandbox, version="50.0")
    with pytest.raises(SalesforceGeneralError) as exc_info:
        old.query("SELECT Id FROM Lead")
    assert exc_info.value.status == 410 and error_of(exc_info)["errorCode"] == "UNSUPPORTED_API_VERSION"
    assert salesforce_client(sf_sandbox, version="60.0").query("SELECT Id FROM Lead")["done"] is True


def test_soap_and_oauth_password_logins(sf_sandbox):
    session = trusting_session(sf_sandbox.ca_bundle)
    session_id, instance = SalesforceLogin(
        username="integration@revloop.sandbox",
        password="sandbox-password",
        security_token="sandbox-security-token",
        scratch_url=sf_sandbox.url,
        session=session,
    )
    assert session_id == sf_sandbox.token and instance == sf_sandbox.url.removeprefix("https://")
    with pytest.raises(SalesforceAuthenticationFailed) as exc_info:
        SalesforceLogin(
            username="integration@revloop.sandbox",
            password="wrong",
            security_token="x",
            scratch_url=sf_sandbox.url,
            session=session,
        )
    assert exc_info.value.code == "INVALID_LOGIN"

    token = session.post(
        f"{sf_sandbox.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "app",
            "client_secret": "secret",
            "username": "integration@revloop.sandbox",
            "password": "sandbox-passwordsandbox-security-token",
        },
    )
    assert token.status_code == 200
    assert token.json()["access_token"] == sf_sandbox.token and token.json()["instance_url"] == sf_sandbox.url
    refused = session.post(
        f"{sf_sandbox.url}/services/oauth2/token",
        data={"grant_type": "password", "client_id": "app", "username": "someone", "password": "x"},
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    logins = sf_sandbox.emulator.requests_to("/services/oauth2") + sf_sandbox.emulator.requests_to("/Soap/")
    assert len(logins) == 4 and not any("sandbox-password" in r.body for r in logins)


def test_concurrent_writers_get_distinct_records(sf_sandbox):
    errors: list[Exception] = []

    def write(worker: int) -> None:
        sf = salesforce_client(sf_sandbox)
        try:
            for i in range(10):
                sf.Lead.create({"LastName": f"W{worker}-{i}", "Company": "C"})
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r["Id"] for r in sf_sandbox.emulator.records("Lead")}) == 40


def test_seeded_records_keep_given_system_fields(sf_sandbox, sf_client):
    stamp = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    [record_id] = sf_sandbox.emulator.seed(
        "Account",
        [
            {
                "Id": make_id("001", 5),
                "Name": "Old",
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "IsDeleted": True,
            }
        ],
    )
    assert record_id == make_id("001", 5)
    row = sf_client.query_all("SELECT Id, CreatedDate, IsDeleted FROM Account", include_deleted=True)[
        "records"
    ][0]
    assert (row["CreatedDate"], row["IsDeleted"]) == ("2023-01-02T03:04:05.000+0000", True)
    assert sf_sandbox.emulator.records("Account", include_deleted=True)[0]["CreatedDate"] == stamp
    assert isinstance(
        sf_sandbox.emulator.records("Account", include_deleted=True)[0]["CreatedDate"], datetime
    )
    assert date(2023, 1, 2) == stamp.date()


def test_paths_answer_with_or_without_trailing_slash(sf_sandbox, sf_client):
    session = trusting_session(sf_sandbox.ca_bundle)
    headers = {"Authorization": f"Bearer {sf_sandbox.token}"}
    base = f"{sf_sandbox.url}/services/data/v54.0"
    for path in ("/query?q=SELECT+Id+FROM+Lead", "/query/?q=SELECT+Id+FROM+Lead", "/sobjects", "/sobjects/"):
        assert session.get(base + path, headers=headers).status_code == 200
    assert sf_client.restful("")["query"] == "/services/data/v54.0/query"
    missing = session.get(base + "/nothing/here", headers=headers)
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
