"""The staging layer on DuckDB: builds with its dbt tests, keeps every live record once, cleans text,
reads both trait spellings, and still builds when only some raw tables exist."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.built import BuiltWarehouse
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, compile_inline, run_dbt
from tests.fixtures.warehouse import RawWarehouse

CHANNELS = ("website", "email", "social", "ads", "offline")

# The columns other rooms code against (the brief's interface), per staging model.
EVENT_COLUMNS = [
    "message_id", "channel", "message_type", "event_name", "page_name", "page_path", "page_url", "user_id",
    "anonymous_id", "email", "phone", "ip", "user_agent", "device_id", "occurred_at", "properties", "traits",
    "context", "trait_first_name", "trait_last_name", "trait_title", "trait_company_name",
    "trait_company_industry", "trait_company_employee_count", "trait_country", "trait_city",
    "trait_created_at", "revenue", "cost", "form_id", "search_query",
]
INTERFACE = {
    "stg_salesforce__leads": [
        "lead_id", "owner_id", "first_name", "last_name", "email", "phone", "company_name", "job_title",
        "industry", "lead_source", "lead_status", "country", "city", "annual_revenue", "employee_count",
        "is_converted", "converted_contact_id", "revloop_id", "hubspot_id", "created_at", "updated_at",
    ],
    "stg_salesforce__contacts": [
        "contact_id", "account_id", "owner_id", "first_name", "last_name", "email", "phone", "mobile_phone",
        "job_title", "department", "lead_source", "country", "city", "revloop_id", "hubspot_id", "created_at",
        "updated_at",
    ],
    "stg_salesforce__accounts": [
        "account_id", "owner_id", "account_name", "website", "domain", "industry", "annual_revenue",
        "employee_count", "country", "city", "account_type", "created_at", "updated_at",
    ],
    "stg_salesforce__opportunities": [
        "opportunity_id", "account_id", "owner_id", "opportunity_name", "stage_name", "amount", "close_date",
        "probability", "is_closed", "is_won", "lead_source", "opportunity_type", "created_at", "updated_at",
    ],
    "stg_salesforce__opportunity_contact_roles": [
        "contact_role_id", "opportunity_id", "contact_id", "role", "is_primary", "created_at", "updated_at",
        "modified_at",
    ],
    "stg_salesforce__users": [
        "user_id", "username", "first_name", "last_name", "full_name", "email", "is_active", "title",
        "department", "country", "created_at", "updated_at",
    ],
    "stg_salesforce__tasks": [
        "task_id", "who_id", "what_id", "owner_id", "subject", "description", "task_status", "priority",
        "due_date", "is_closed", "task_subtype", "created_at", "updated_at",
    ],
    "stg_hubspot__contacts": [
        "contact_id", "email", "first_name", "last_name", "phone", "mobile_phone", "company_name",
        "job_title", "industry", "country", "city", "website", "lifecycle_stage", "lead_status", "owner_id",
        "created_at", "updated_at",
    ],
    "stg_hubspot__companies": [
        "company_id", "company_name", "domain", "industry", "annual_revenue", "employee_count", "country",
        "city", "lifecycle_stage", "owner_id", "created_at", "updated_at",
    ],
    "stg_hubspot__deals": [
        "deal_id", "deal_name", "amount", "deal_stage", "pipeline", "close_date", "is_closed", "is_won",
        "owner_id", "created_at", "updated_at",
    ],
    "stg_hubspot__owners": [
        "owner_id", "email", "first_name", "last_name", "user_id", "is_archived", "created_at", "updated_at",
    ],
    "stg_hubspot__contact_company_associations": [
        "contact_id", "company_id", "association_type_id", "is_primary",
    ],
    "stg_hubspot__deal_associations": ["deal_id", "associated_type", "associated_id", "association_type_id"],
    **{f"stg_events__{channel}_messages": EVENT_COLUMNS for channel in CHANNELS},
}
CRM_MODELS = [name for name in INTERFACE if not name.startswith("stg_events__")]

# Staging model -> (raw table, the key that identifies a record, the filter keeping live ones).
LIVE_RECORDS = {
    "stg_salesforce__leads": ("raw_salesforce.lead", "id", "not is_deleted"),
    "stg_salesforce__contacts": ("raw_salesforce.contact", "id", "not is_deleted"),
    "stg_salesforce__accounts": ("raw_salesforce.account", "id", "not is_deleted"),
    "stg_salesforce__opportunities": ("raw_salesforce.opportunity", "id", "not is_deleted"),
    "stg_salesforce__tasks": ("raw_salesforce.task", "id", "not is_deleted"),
    "stg_salesforce__opportunity_contact_roles": (
        "raw_salesforce.opportunitycontactrole", "id", "not is_deleted"
    ),
    "stg_salesforce__users": ('raw_salesforce."user"', "id", "true"),
    "stg_hubspot__contacts": ("raw_hubspot.contacts", "id", "not archived"),
    "stg_hubspot__companies": ("raw_hubspot.companies", "id", "not archived"),
    "stg_hubspot__deals": ("raw_hubspot.deals", "id", "not archived"),
    "stg_hubspot__owners": ("raw_hubspot.owners", "id", "true"),
    # links to companies archived since the contact was loaded are not live (HubSpot drops them)
    "stg_hubspot__contact_company_associations": (
        "raw_hubspot.contact_company_associations", "(from_id, to_id, association_type_id)",
        "to_id in (select company_id from staging.stg_hubspot__companies)",
    ),
    "stg_hubspot__deal_associations": (
        "raw_hubspot.deal_associations", "(from_id, to_type, to_id, association_type_id)", "true"
    ),
    **{f"stg_events__{c}_messages": (f"raw_events.{c}", "message_id", "true") for c in CHANNELS},
}
ID_COLUMNS = {name: columns[0] for name, columns in INTERFACE.items() if "associations" not in name}


@pytest.fixture(scope="module")
def staged_folder(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    """A dbt work folder of this module's (the shared build's target copied), the staging selection's dbt
    tests having passed in the shared build."""
    folder = tmp_path_factory.mktemp("staged")
    built_warehouse.dbt.assert_tests_passed(STAGING_SELECTION, folder)
    return folder


@pytest.fixture(scope="module")
def staged(built_warehouse: BuiltWarehouse) -> Path:
    """The shared built warehouse (read-only): the staging selection and everything after it."""
    return built_warehouse.path


def _duckdb_env(folder: Path) -> dict[str, str]:
    return {"WAREHOUSE_PATH": str(folder / "warehouse.duckdb")}


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.execute(sql, params).fetchone()[0]


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def test_staging_models_expose_the_interface_columns(staged):
    with duckdb.connect(str(staged), read_only=True) as con:
        for model, columns in INTERFACE.items():
            present = _columns(con, "staging", model)
            assert set(columns) <= set(present), f"{model} lacks {set(columns) - set(present)}"
        assert set(_columns(con, "intermediate", "int_events_unioned")) >= set(EVENT_COLUMNS)
        events = _columns(con, "staging", "stg_events__website_messages")
        assert events["occurred_at"] == "TIMESTAMP WITH TIME ZONE"
        assert _columns(con, "staging", "stg_salesforce__leads")["is_converted"] == "BOOLEAN"


def test_each_live_record_appears_once(staged):
    with duckdb.connect(str(staged), read_only=True) as con:
        for model, (table, key, live) in LIVE_RECORDS.items():
            expected = _scalar(con, f"select count(distinct {key}) from {table} where {live}")
            assert _scalar(con, f"select count(*) from staging.{model}") == expected, model
        for model, id_column in ID_COLUMNS.items():
            total, distinct = con.execute(
                f"select count(*), count(distinct {id_column}) from staging.{model}"
            ).fetchone()
            assert total == distinct > 0, model
        unioned = _scalar(con, "select count(*) from intermediate.int_events_unioned")
        event_models = [model for model in INTERFACE if model.startswith("stg_events__")]
        per_channel = sum(_scalar(con, f"select count(*) from staging.{model}") for model in event_models)
        assert unioned == per_channel


def test_soft_deleted_records_are_gone(staged):
    with duckdb.connect(str(staged), read_only=True) as con:
        deleted = _scalar(con, "select list(id) from raw_salesforce.lead where is_deleted")
        archived = _scalar(con, "select list(id) from raw_hubspot.contacts where archived")
        assert deleted and archived, "the world should hold deleted and archived records"
        leads_sql = "select count(*) from staging.stg_salesforce__leads where list_contains(?, lead_id)"
        assert _scalar(con, leads_sql, [deleted]) == 0
        contacts_sql = "select count(*) from staging.stg_hubspot__contacts where list_contains(?, contact_id)"
        assert _scalar(con, contacts_sql, [archived]) == 0


def test_text_is_trimmed_and_emails_lower_case(staged):
    with duckdb.connect(str(staged), read_only=True) as con:
        dirty = con.execute(
            "select count(*) from raw_salesforce.lead where email <> lower(trim(email))"
        ).fetchone()[0]
        assert dirty > 0, "the world should hold e-mails with stray case and spaces"
        for model in INTERFACE:
            for column, data_type in _columns(con, "staging", model).items():
                if data_type != "VARCHAR":
                    continue
                untrimmed = con.execute(
                    f"select count(*) from staging.{model} where {column} <> trim({column}) or {column} = ''"
                ).fetchone()[0]
                assert untrimmed == 0, f"{model}.{column}"
            if "email" in INTERFACE[model]:
                assert not con.execute(
                    f"select count(*) from staging.{model} where email <> lower(email)"
                ).fetchone()[0], model
        mismatched = _scalar(
            con,
            "select count(*) from raw_salesforce.lead r"
            " join staging.stg_salesforce__leads s on s.lead_id = r.id"
            " where s.email is distinct from nullif(lower(trim(r.email)), '')",
        )
        assert mismatched == 0


def test_account_domain_is_the_bare_host(staged):
    with duckdb.connect(str(staged), read_only=True) as con:
        rows = con.execute("select website, domain from staging.stg_salesforce__accounts").fetchall()
    with_scheme = [(w, d) for w, d in rows if w and w.lower().startswith(("http://", "https://"))]
    assert with_scheme, "the world should hold websites given as URLs"
    for website, domain in rows:
        if website is None:
            assert domain is None
            continue
        host = website.lower().split("://")[-1].split("/")[0].removeprefix("www.")
        assert domain == host, website


def test_traits_are_read_in_both_spellings(staged):
    with duckdb.connect(str(staged), read_only=True) as con:
        spelled = con.execute(
            """
            select
                count(*) filter (where json_exists(traits, '$.first_name')),
                count(*) filter (where json_exists(traits, '$.firstName')),
                count(*) filter (where coalesce(json_extract_string(traits, '$.first_name'),
                                                json_extract_string(traits, '$.firstName')) is not null)
            from raw_events.website where type = 'identify'
            """
        ).fetchone()
        assert spelled[0] > 0 and spelled[1] > 0, "the world should mix snake_case and camelCase traits"
        extracted = con.execute(
            "select count(trait_first_name), count(trait_created_at), count(trait_company_employee_count)"
            " from staging.stg_events__website_messages where message_type = 'identify'"
        ).fetchone()
        assert extracted[0] == spelled[2]
        assert extracted[1] == spelled[2]  # every identify call carries createdAt or created_at
        assert extracted[2] > 0
        mismatched = con.execute(
            """
            select count(*) from staging.stg_events__website_messages s
            join raw_events.website r using (message_id)
            where r.type = 'identify' and s.trait_last_name is distinct from
                nullif(trim(coalesce(json_extract_string(r.traits, '$.last_name'),
                                     json_extract_string(r.traits, '$.lastName'))), '')
            """
        ).fetchone()[0]
        assert mismatched == 0
        orders = con.execute(
            "select count(*), count(revenue), min(revenue) from staging.stg_events__offline_messages"
            " where event_name = 'Order Completed'"
        ).fetchone()
        assert orders[0] > 0 and orders[1] == orders[0] and orders[2] > 0
        pages = con.execute(
            "select count(*), count(page_path), count(event_name)"
            " from staging.stg_events__website_messages where message_type = 'page'"
        ).fetchone()
        assert pages[0] > 0 and pages[1] == pages[0] and pages[2] == 0


@pytest.mark.slow
def test_builds_on_a_warehouse_with_only_some_event_tables(raw_warehouse: RawWarehouse, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"attach '{raw_warehouse.path}' as raw (read_only)")
        con.execute("create schema raw_events")
        for channel in ("website", "email", "ads", "offline"):  # no social file yet: no table
            con.execute(f"create table raw_events.{channel} as select * from raw.raw_events.{channel}")
        # dlt creates no column that was null on every row so far.
        con.execute("alter table raw_events.ads drop column device_id")
        expected_ads = con.execute("select count(*) from raw_events.ads").fetchone()[0]
    assert_dbt_ok(run_dbt(["build", *STAGING_SELECTION], tmp_path, _duckdb_env(tmp_path)))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for model in [*CRM_MODELS, "stg_events__social_messages"]:
            assert set(INTERFACE[model]) <= set(_columns(con, "staging", model)), model
            assert con.execute(f"select count(*) from staging.{model}").fetchone()[0] == 0, model
        ads = con.execute("select count(*), count(device_id) from staging.stg_events__ads_messages")
        assert ads.fetchone() == (expected_ads, 0)
        assert _scalar(con, "select count(*) from intermediate.int_events_unioned") > expected_ads


MACRO_CASES_SQL = """
select
    {{ url_domain("'https://user:pw@WWW.Shop.Example.com:8080/path?q=1'") }} as url_full,
    {{ url_domain("' example.co.uk '") }} as url_bare,
    {{ url_domain("'http://www.test.de./'") }} as url_dot,
    {{ url_domain("'   '") }} as url_blank,
    {{ email_domain("' Jane.Doe@Example.COM '") }} as email_ok,
    {{ email_domain("'no-at-sign'") }} as email_none,
    {{ email_domain("'a@b@c.com'") }} as email_twice,
    {{ json_text("'{\\"a\\": {\\"b\\": \\"x\\", \\"n\\": 51}}'", 'a.b') }} as json_nested,
    {{ json_text("'{\\"a\\": {\\"b\\": \\"x\\", \\"n\\": 51}}'", 'a.n') }} as json_number,
    {{ json_text("'{\\"a\\": 1}'", 'missing.key') }} as json_missing,
    {{ safe_number("' 12.5 '") }} as number_ok,
    {{ safe_number("'n/a'") }} as number_bad,
    {{ safe_number("'51'", 'bigint') }} as number_bigint,
    {{ safe_number("'1e30'", 'bigint') }} as number_too_big,
    {{ safe_number("'-2.5e3'") }} as number_exponent,
    {{ safe_timestamp("'2025-11-29T10:19:48.772Z'") }} as ts_ok,
    {{ safe_timestamp("'yesterday'") }} as ts_bad,
    {{ safe_timestamp("'2025-13-01'") }} as ts_no_month,
    {{ clean_text("'   '") }} as text_blank,
    {{ clean_email("' Jane@Example.COM '") }} as email_clean
"""

MACRO_EXPECTED = {
    "url_full": "shop.example.com",
    "url_bare": "example.co.uk",
    "url_dot": "test.de",
    "url_blank": None,
    "email_ok": "example.com",
    "email_none": None,
    "email_twice": None,
    "json_nested": "x",
    "json_number": "51",
    "json_missing": None,
    "number_ok": Decimal("12.5"),
    "number_bad": None,
    "number_bigint": 51,
    "number_too_big": None,
    "number_exponent": Decimal("-2500"),
    "ts_ok": datetime(2025, 11, 29, 10, 19, 48, 772000, tzinfo=UTC),
    "ts_bad": None,
    "ts_no_month": None,
    "text_blank": None,
    "email_clean": "jane@example.com",
}


# row_rules (macros/tests/row_rules.sql) over five rows: each rule's label and the rows breaking it. Nulls
# pass every rule but not_null (and share a combination); a column-scoped expression skips the rows where its
# column is null.
ROW_RULES_SQL = """
{{ test_row_rules(
    model="(values (1, 'a', 'x@y.io', 0.5, ' p '), (2, 'b', 'X@y.io', 1.5, ''),"
          ~ " (null, 'z', null, null, null), (4, null, ' q@y.io', -1, 'p'), (5, 'a', 'r@y.io', 0.5, null))"
          ~ " as checked(id, tier, email, score, phone)",
    not_null=["id", "tier"],
    unique=["id", "tier"],
    unique_combinations=[["tier", "score"], ["email", "phone"]],
    accepted_range={"score": {"min_value": 0, "max_value": 1}, "id": {"min_value": 1}},
    accepted_values={"tier": ["a", "b"]},
    is_trimmed=["email", "phone"],
    not_empty_string=["phone"],
    expressions=["id is null or id < 5", {"column": "email", "expression": "email = lower(email)"}],
) }}
"""
ROW_RULES_BROKEN = {
    "id is never null": 1,
    "tier is never null": 1,
    "tier is unique": 1,
    "no two rows share (tier, score)": 1,
    "score is at least 0 and at most 1": 2,
    "tier is one of its accepted values": 1,
    "email has no leading or trailing spaces": 1,
    "phone has no leading or trailing spaces": 1,
    "phone is never an empty string": 1,
    "id is null or id < 5": 1,
    "email = lower(email)": 1,
}


def check_row_rules(rows: list[tuple]) -> None:
    """Every broken rule of ROW_RULES_SQL is reported once with its rows; no rule that holds is."""
    assert dict(rows) == ROW_RULES_BROKEN and len(rows) == len(ROW_RULES_BROKEN)


def check_macro_results(row: dict) -> None:
    """Compare a row of MACRO_CASES_SQL results with MACRO_EXPECTED (numbers by value, times by instant)."""
    for name, expected in MACRO_EXPECTED.items():
        value = row[name]
        if isinstance(expected, Decimal) and value is not None:
            value = Decimal(str(value))
        assert value == expected, f"{name}: {value!r} != {expected!r}"


def test_cross_adapter_macros_on_duckdb(staged_folder):
    # Compiled beside the staged build: same profile and target folder, so dbt parses partially (fast).
    sql = compile_inline(MACRO_CASES_SQL, staged_folder, _duckdb_env(staged_folder))
    with duckdb.connect() as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        check_macro_results(dict(zip(names, cursor.fetchone(), strict=True)))
        sql = compile_inline(ROW_RULES_SQL, staged_folder, _duckdb_env(staged_folder))
        check_row_rules(con.execute(sql).fetchall())
