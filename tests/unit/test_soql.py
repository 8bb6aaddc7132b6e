"""The SOQL subset: parsing, and running compiled queries against an in-memory org."""

from datetime import UTC, date, datetime

import pytest

from sandbox.salesforce import soql
from sandbox.salesforce.errors import SalesforceError
from sandbox.salesforce.query import compile_query, run
from sandbox.salesforce.store import SandboxOrg

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def org() -> SandboxOrg:
    org = SandboxOrg(lambda: NOW)
    org.seed(
        "Lead",
        [
            {
                "LastName": "O'Brien",
                "Company": "50% Off",
                "Email": "ob@x.io",
                "CreatedDate": "2024-06-15T01:00:00Z",
            },
            {"LastName": "Smith", "Company": "Acme", "Email": None, "CreatedDate": "2024-06-10T23:59:59Z"},
            {
                "LastName": "smythe",
                "Company": "Acme_1",
                "Email": "s@x.io",
                "CreatedDate": "2024-05-01T00:00:00Z",
            },
        ],
    )
    return org


def last_names(org: SandboxOrg, text: str, include_deleted: bool = False) -> list[str]:
    return [r["LastName"] for r in run(compile_query(text, org, NOW.date()), org, include_deleted)]


def test_parse_builds_the_tree():
    query = soql.parse(
        "select Id, Name from Lead where (Email = null or not Status in ('A','B')) and Lead_Score__c >= 0.5 "
        "order by Name desc nulls first, Id limit 10 offset 5"
    )
    assert [name for name, _ in query.fields] == ["Id", "Name"]
    assert query.object_name == "Lead"
    assert isinstance(query.where, soql.BoolOp) and query.where.op == "AND"
    inner = query.where.operands[0]
    assert isinstance(inner, soql.BoolOp) and inner.op == "OR"
    assert isinstance(inner.operands[1], soql.Not)
    assert inner.operands[1].operand.op == "IN"
    assert query.where.operands[1].value.value == 0.5
    assert query.order_by == (
        soql.OrderItem("Name", True, False, query.order_by[0].pos),
        soql.OrderItem("Id", False, False, query.order_by[1].pos),
    )
    assert (query.limit, query.offset) == (10, 5)


def test_literals_are_typed():
    where = soql.parse(
        "SELECT Id FROM Lead WHERE A = 'it\\'s' AND B = -3 AND C = TRUE AND D = 2024-01-31 "
        "AND E = 2024-01-31T10:00:00.250+02:00 AND F = LAST_N_DAYS:7"
    ).where
    values = [operand.value for operand in where.operands]
    assert [v.kind for v in values] == ["string", "number", "boolean", "date", "datetime", "date_literal"]
    assert values[0].value == "it's" and values[1].value == -3 and values[2].value is True
    assert values[3].value == date(2024, 1, 31)
    assert values[4].value == datetime(2024, 1, 31, 8, 0, 0, 250000, tzinfo=UTC)
    assert values[5].value == ("LAST_N_DAYS", 7)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3",
        "SELECT Id FROM Lead WHERE A = 1 LIMIT x",
        "SELECT Id FROM Lead ORDER BY",
        "SELECT Id FROM Lead WHERE A ~ 1",
    ],
)
def test_syntax_errors(text):
    with pytest.raises(soql.SoqlSyntaxError):
        soql.parse(text)


def test_text_comparisons_ignore_case_and_like_honours_escapes(org):
    assert last_names(org, "SELECT LastName FROM Lead WHERE LastName = 'SMITH'") == ["Smith"]
    assert last_names(org, "SELECT LastName FROM Lead WHERE LastName LIKE 'sm%' ORDER BY LastName") == [
        "Smith",
        "smythe",
    ]
    assert last_names(org, "SELECT LastName FROM Lead WHERE Company LIKE '50\\% Off'") == ["O'Brien"]
    assert last_names(org, "SELECT LastName FROM Lead WHERE Company LIKE 'Acme\\_%'") == ["smythe"]
    assert last_names(org, "SELECT LastName FROM Lead WHERE LastName = 'O\\'Brien'") == ["O'Brien"]


def test_not_equal_and_not_in_keep_nulls(org):
    assert last_names(org, "SELECT LastName FROM Lead WHERE Email != 'ob@x.io' ORDER BY LastName") == [
        "Smith",
        "smythe",
    ]
    assert last_names(org, "SELECT LastName FROM Lead WHERE Email NOT IN ('s@x.io') ORDER BY LastName") == [
        "O'Brien",
        "Smith",
    ]


def test_relative_date_literals_follow_the_clock(org):
    assert last_names(org, "SELECT LastName FROM Lead WHERE CreatedDate = TODAY") == ["O'Brien"]
    assert last_names(
        org, "SELECT LastName FROM Lead WHERE CreatedDate = LAST_N_DAYS:7 ORDER BY LastName"
    ) == ["O'Brien", "Smith"]
    assert last_names(org, "SELECT LastName FROM Lead WHERE CreatedDate < YESTERDAY ORDER BY LastName") == [
        "Smith",
        "smythe",
    ]


def test_offset_and_limit_slice_the_sorted_result(org):
    assert last_names(org, "SELECT LastName FROM Lead ORDER BY LastName LIMIT 1 OFFSET 1") == ["Smith"]


def test_order_by_places_nulls_like_salesforce(org):
    assert last_names(org, "SELECT LastName FROM Lead ORDER BY Email") == ["Smith", "O'Brien", "smythe"]
    assert last_names(org, "SELECT LastName FROM Lead ORDER BY Email DESC") == ["smythe", "O'Brien", "Smith"]
    assert last_names(org, "SELECT LastName FROM Lead ORDER BY Email ASC NULLS LAST, LastName LIMIT 2") == [
        "O'Brien",
        "smythe",
    ]


def test_fields_function_and_id_filters(org):
    compiled = compile_query("SELECT FIELDS(CUSTOM) FROM Lead LIMIT 200", org, NOW.date())
    assert "Revloop_Id__c" in compiled.fields and "LastName" not in compiled.fields
    lead_id = run(compile_query("SELECT Id FROM Lead", org, NOW.date()), org, False)[0]["Id"]
    assert last_names(org, f"SELECT LastName FROM Lead WHERE Id = '{lead_id[:15]}'") == ["O'Brien"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT FIELDS(ALL) FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id, Id FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Account.Name FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Lead WHERE IsConverted = 'false'", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = 2024-01-01T00:00:00Z", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees LIKE '1%'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Lead LIMIT 10 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
def test_semantic_errors(org, text, code):
    with pytest.raises(SalesforceError) as exc_info:
        compile_query(text, org, NOW.date())
    assert exc_info.value.error_code == code
