"""Flattening HubSpot records into typed rows, and the connection read from the environment."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ingestion.hubspot.client import DEFAULT_BASE_URL, HubSpotConnection, chunks
from ingestion.hubspot.records import (
    UnparsableRecord,
    association_tombstone,
    epoch_ms,
    flatten_associations,
    flatten_object,
    flatten_owner,
    parse_moment,
    property_columns,
)

TYPES = {
    "email": "string",
    "amount": "number",
    "closedate": "datetime",
    "birthday": "date",
    "is_vip": "bool",
    "lifecyclestage": "enumeration",
    "archived": "string",
}


def _record(**properties):
    return {
        "id": "101",
        "properties": properties,
        "createdAt": "2026-01-02T03:04:05.006Z",
        "updatedAt": "2026-02-03T04:05:06.007Z",
        "archived": False,
    }


def test_properties_are_typed_by_their_property_type():
    row = flatten_object(_record(email="a@b.co", amount="1234.50", closedate="2026-03-01T10:00:00Z",
                                 birthday="1990-05-17", is_vip="true", lifecyclestage="lead"), TYPES)
    assert row["id"] == "101"
    assert row["created_at"] == datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert row["updated_at"] == datetime(2026, 2, 3, 4, 5, 6, 7000, tzinfo=UTC)
    assert row["archived"] is False and row["archived_at"] is None
    assert row["amount"] == Decimal("1234.50")
    assert row["closedate"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert row["birthday"] == date(1990, 5, 17)
    assert row["is_vip"] is True
    assert row["email"] == "a@b.co" and row["lifecyclestage"] == "lead"


def test_epoch_milliseconds_empty_strings_and_unknown_properties():
    record = _record(closedate="1772359200000", amount="", birthday="638150400000", extra="x")
    row = flatten_object(record, TYPES)
    assert row["closedate"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert row["birthday"] == date(1990, 3, 23)
    assert row["amount"] is None
    assert row["extra"] == "x"
    midnight = flatten_object(_record(birthday="1990-05-17T00:00:00.000Z"), TYPES)
    assert midnight["birthday"] == date(1990, 5, 17)
    with pytest.raises(UnparsableRecord, match="birthday"):
        flatten_object(_record(birthday="1990-05-17junk"), TYPES)


def test_a_property_named_like_a_system_column_keeps_both():
    row = flatten_object(_record(archived="yes"), TYPES)
    assert row["archived"] is False and row["property_archived"] == "yes"
    assert "property_archived" in property_columns(TYPES)
    assert property_columns(TYPES)["amount"]["data_type"] == "decimal"
    assert property_columns(TYPES)["closedate"]["data_type"] == "timestamp"


def test_an_archived_record_is_updated_when_it_was_archived():
    record = {**_record(email="a@b.co"), "archived": True, "archivedAt": "2026-04-01T00:00:00.000Z"}
    row = flatten_object(record, TYPES)
    assert row["archived"] is True
    assert row["archived_at"] == row["updated_at"] == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({**_record(), "id": None}, "no id"),
        ({**_record(), "updatedAt": "yesterday"}, "updatedAt"),
        (_record(amount="12,5"), "property amount"),
        (_record(amount="NaN"), "property amount"),
        (_record(is_vip="maybe"), "property is_vip"),
        (_record(closedate="2026-13-45"), "property closedate"),
        ({**_record(), "properties": ["a"]}, "properties is a list"),
    ],
)
def test_unparsable_records_say_why(record, reason):
    with pytest.raises(UnparsableRecord, match=reason):
        flatten_object(record, TYPES)


def test_owner_rows():
    row = flatten_owner({"id": 7, "email": "rep@x.co", "firstName": "Ann", "lastName": "Lee", "userId": 99,
                         "teams": [{"id": "1", "name": "EMEA"}], "archived": True,
                         "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z"})
    assert row == {
        "id": "7", "email": "rep@x.co", "first_name": "Ann", "last_name": "Lee", "user_id": "99",
        "teams": [{"id": "1", "name": "EMEA"}], "archived": True,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "updated_at": datetime(2026, 1, 2, tzinfo=UTC),
    }


def test_association_rows_one_per_type():
    kinds = [{"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
             {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}]
    result = {"from": {"id": "5"}, "to": [{"toObjectId": 9, "associationTypes": kinds}]}
    rows = flatten_associations("contacts", "companies", result)
    assert [(r["from_id"], r["to_id"], r["association_type_id"], r["association_label"]) for r in rows] == [
        ("5", "9", 1, "Primary"), ("5", "9", 279, None)]
    assert all(row["is_removed"] is False for row in rows)
    tombstone = association_tombstone("contacts", "5")
    assert tombstone["is_removed"] is True and tombstone["from_id"] == "5"
    with pytest.raises(UnparsableRecord, match="typeId"):
        flatten_associations("contacts", "companies", {"from": {"id": "5"}, "to": [
            {"toObjectId": 9, "associationTypes": [{"typeId": "x"}]}]})


def test_moments_round_trip_through_epoch_milliseconds():
    moment = parse_moment("2026-05-01T12:00:00.123Z")
    assert epoch_ms(moment) == 1777636800123
    assert parse_moment(str(epoch_ms(moment))) == moment


def test_connection_from_env(monkeypatch):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    assert HubSpotConnection.from_env() is None
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-secret-123")
    monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    connection = HubSpotConnection.from_env()
    assert connection.base_url == DEFAULT_BASE_URL and connection.ca_bundle is None
    assert "pat-secret-123" not in repr(connection)
    monkeypatch.setenv("HUBSPOT_BASE_URL", "https://127.0.0.1:8443/")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/tmp/bundle.pem")
    connection = HubSpotConnection.from_env()
    assert connection.base_url == "https://127.0.0.1:8443" and connection.ca_bundle == "/tmp/bundle.pem"


def test_chunks():
    assert list(chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunks([], 3)) == []
