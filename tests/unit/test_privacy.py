"""mask_pii: which columns count as personal, how values are masked, and how the operator turns it off."""

import duckdb
import pytest

from orchestration.table_metadata import warehouse_tables_metadata
from revloop.privacy import is_pii_column, mask_pii_enabled, mask_records, mask_value


@pytest.mark.parametrize(
    "column", ["email", "work_email", "hs_email_domain", "phone", "mobile_phone", "fax", "first_name",
               "lastname", "name", "full_name", "traits"]
)
def test_personal_columns(column):
    assert is_pii_column(column)


@pytest.mark.parametrize("column", ["company_name", "event_name", "segment_name", "industry", "profile_id"])
def test_other_columns(column):
    assert not is_pii_column(column)


def test_masked_values():
    assert mask_value("email", "Ada.Lovelace@Example.com") == "A***@Example.com"
    assert mask_value("phone", "+44 20 7946 0958") == "***58"
    assert mask_value("phone", "123") == "***"
    assert mask_value("first_name", "Ada") == "A***"
    assert mask_value("traits", '{"plan": "pro"}') == "***"
    assert mask_value("email", None) is None
    # an address inside any other text is masked too; numbers and other text are left alone
    assert mask_value("context", '{"to": "bob@beta.io", "n": 3}') == '{"to": "b***@beta.io", "n": 3}'
    assert mask_value("lead_score", 42) == 42 and mask_value("industry", "Finance") == "Finance"
    assert mask_records([{"email": "e@x.io", "country": "UK"}]) == [{"email": "e***@x.io", "country": "UK"}]


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("", True), ("1", True), ("on", True), ("0", False), ("false", False), ("No", False),
     (" off ", False)],
)
def test_setting(value, enabled):
    assert mask_pii_enabled({} if value is None else {"REVLOOP_MASK_PII": value}) is enabled


def test_table_samples_masked_unless_turned_off(tmp_path, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.people as select 'ada@example.com' as email, '+44 20 7946 0958' as phone, "
            "'Ada' as first_name, 'Acme' as company_name"
        )
    monkeypatch.delenv("REVLOOP_MASK_PII", raising=False)
    masked = warehouse_tables_metadata(warehouse, [("marts", "people")])[("marts", "people")]["sample"].value
    assert "ada@example.com" not in masked and "7946" not in masked and "Ada" not in masked
    assert "a***@example.com" in masked and "***58" in masked and "A***" in masked and "Acme" in masked
    monkeypatch.setenv("REVLOOP_MASK_PII", "0")
    plain = warehouse_tables_metadata(warehouse, [("marts", "people")])[("marts", "people")]["sample"].value
    assert "ada@example.com" in plain and "+44 20 7946 0958" in plain and "Ada" in plain
