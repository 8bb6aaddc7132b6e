"""Field selection and incremental SOQL of the Salesforce source."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingestion.salesforce.query import build_soql, select_fields, soql_datetime
from ingestion.salesforce.settings import DEFAULT_OBJECTS, STANDARD_FIELDS, table_name


def _described(*fields: tuple[str, str, bool]) -> list[dict]:
    return [{"name": name, "type": sf_type, "custom": custom} for name, sf_type, custom in fields]


DESCRIBED_LEAD = _described(
    ("Id", "id", False), ("IsDeleted", "boolean", False), ("SystemModstamp", "datetime", False),
    ("Email", "email", False), ("Rating", "picklist", False), ("Lead_Score__c", "double", True),
    ("Geo__c", "location", True), ("Revloop_Id__c", "string", True),
)


def test_selects_wanted_fields_describe_reports_then_every_custom_field():
    selection = select_fields("Lead", ["Id", "SystemModstamp", "Email", "IsDeleted"], DESCRIBED_LEAD)
    assert selection.fields == [
        "Id", "SystemModstamp", "Email", "IsDeleted", "Lead_Score__c", "Revloop_Id__c",
    ]
    assert selection.types["Lead_Score__c"] == "double"
    assert selection.missing == []
    assert selection.has_is_deleted


def test_wanted_fields_the_org_lacks_are_reported_not_queried():
    selection = select_fields("Lead", ["Id", "SystemModstamp", "Email", "Fax"], DESCRIBED_LEAD)
    assert "Fax" not in selection.fields
    assert selection.missing == ["Fax"]


def test_standard_fields_not_in_settings_are_left_out():
    selection = select_fields("Lead", ["Id", "SystemModstamp"], DESCRIBED_LEAD)
    assert "Rating" not in selection.fields and "Email" not in selection.fields


def test_cursor_and_key_are_always_selected():
    selection = select_fields("Lead", ["Email"], DESCRIBED_LEAD)
    assert selection.fields[:2] == ["Id", "SystemModstamp"]


def test_object_without_is_deleted_is_not_soft_deleting():
    described = _described(
        ("Id", "id", False), ("SystemModstamp", "datetime", False), ("Email", "email", False)
    )
    assert not select_fields("User", STANDARD_FIELDS["User"], described).has_is_deleted


def test_object_without_cursor_is_refused():
    with pytest.raises(ValueError, match="SystemModstamp"):
        select_fields("Lead", ["Id"], _described(("Id", "id", False)))


def test_soql_datetime_is_utc_and_floored_to_the_second():
    paris = timezone(timedelta(hours=1))
    assert soql_datetime(datetime(2024, 5, 1, 10, 30, 15, 999_000, tzinfo=paris)) == "2024-05-01T09:30:15Z"
    with pytest.raises(ValueError, match="naive"):
        soql_datetime(datetime(2024, 5, 1))


def test_first_run_soql_reads_everything_in_cursor_order():
    assert build_soql("Lead", ["Id", "SystemModstamp"], None) == (
        "SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id"
    )


def test_later_soql_rereads_the_last_cursor_value():
    since = datetime(2024, 5, 1, 9, 30, 15, 123_000, tzinfo=UTC)
    assert build_soql("Task", ["Id", "SystemModstamp"], since) == (
        "SELECT Id, SystemModstamp FROM Task WHERE SystemModstamp >= 2024-05-01T09:30:15Z "
        "ORDER BY SystemModstamp, Id"
    )


def test_settings_cover_the_default_objects_with_their_key_and_cursor():
    tables = [table_name(o) for o in DEFAULT_OBJECTS]
    assert tables == ["lead", "contact", "account", "opportunity", "user", "task", "opportunitycontactrole"]
    for object_name in DEFAULT_OBJECTS:
        assert {"Id", "SystemModstamp"} <= set(STANDARD_FIELDS[object_name])
        assert not any(name.endswith("__c") for name in STANDARD_FIELDS[object_name])
