"""Typing of Salesforce JSON records and their warehouse column types."""

from datetime import UTC, date, datetime

import pytest

from ingestion.quarantine import Rejections
from ingestion.salesforce.records import UnloadableValue, column_hints, typed_record, typed_records

TYPES = {
    "Id": "id", "SystemModstamp": "datetime", "CloseDate": "date", "Amount": "currency",
    "NumberOfEmployees": "int", "IsDeleted": "boolean", "Name": "string", "Score__c": "double",
}


def test_values_get_their_describe_types_and_attributes_go():
    record = {
        "attributes": {"type": "Opportunity", "url": "/services/data/v54.0/sobjects/Opportunity/006"},
        "Id": "006000000000001AAA", "SystemModstamp": "2024-05-01T09:30:00.000+0000",
        "CloseDate": "2024-06-30",
        "Amount": 1200, "NumberOfEmployees": 50.0, "IsDeleted": False, "Name": "Big deal", "Score__c": None,
    }
    row = typed_record(record, TYPES)
    assert row == {
        "Id": "006000000000001AAA", "SystemModstamp": datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        "CloseDate": date(2024, 6, 30), "Amount": 1200.0, "NumberOfEmployees": 50, "IsDeleted": False,
        "Name": "Big deal", "Score__c": None,
    }
    assert isinstance(row["Amount"], float) and isinstance(row["NumberOfEmployees"], int)


def test_offsets_are_normalised_to_utc():
    row = typed_record({"Id": "x", "SystemModstamp": "2024-05-01T11:30:00.000+0200"}, TYPES)
    assert row["SystemModstamp"] == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SystemModstamp", "yesterday"),
        ("SystemModstamp", "2024-05-01T09:30:00"),  # no offset: not an instant
        ("CloseDate", "30/06/2024"),
        ("Amount", "lots"),
        ("Amount", True),
        ("NumberOfEmployees", 12.5),
        ("IsDeleted", "false"),
        ("Name", {"nested": 1}),
    ],
)
def test_unparsable_values_are_refused_with_the_field_named(field, value):
    with pytest.raises(UnloadableValue, match=field):
        typed_record({"Id": "x", field: value}, TYPES)


def test_column_hints_type_every_field_and_key_the_id():
    hints = column_hints(TYPES)
    assert {name: hint["data_type"] for name, hint in hints.items()} == {
        "Id": "text", "SystemModstamp": "timestamp", "CloseDate": "date", "Amount": "double",
        "NumberOfEmployees": "bigint", "IsDeleted": "bool", "Name": "text", "Score__c": "double",
    }
    assert hints["Id"]["nullable"] is False and hints["Name"]["nullable"] is True


def test_a_record_that_does_not_parse_is_quarantined_and_the_others_flow():
    records = [
        {"attributes": {"type": "Lead"}, "Id": "a", "Amount": 1},
        {"attributes": {"type": "Lead"}, "Id": "b", "Amount": "lots"},
        {"attributes": {"type": "Lead"}, "Id": "c", "Amount": 3},
    ]
    rejections = Rejections()
    rows = list(typed_records("Lead", records, {"Id": "id", "Amount": "currency"}, rejections))
    assert [row["Id"] for row in rows] == ["a", "c"]
    (rejected,) = list(rejections)
    assert (rejected.source, rejected.record_id) == ("salesforce", "b")
    assert "Lead: Amount (currency) = 'lots'" in rejected.reason
    assert '"lots"' in rejected.payload and "attributes" not in rejected.payload
