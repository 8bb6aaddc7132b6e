"""Incremental models (issue 18, items 1 and 3): a world loaded in two halves, each built as a run does
(dbt before identity, identity, dbt after it), equals the full build of the same raw tables and identity map
(`dbt run --full-refresh`), in every staging, intermediate and mart table.

The first half holds half of every raw table's keys, and older states of some of the rest: records alive
that the second load deletes, archives or merges away, older versions of records, a replayed copy of an
event that the original (read later) beats. The second load brings the held rows back under a new
_dlt_load_id, as a dlt merge (CRM tables) or append (events) would, plus a hard delete and a HubSpot merge.
The second identity run merges profiles the first kept apart; it also finds that a website visitor's
anonymousId is used by a second person (a shared computer: the visitor's record loses its link), and the
original of the replayed message belongs to a visitor nobody knows (the message leaves the resolved ones).
"""

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from identity import resolve_identities
from revloop.warehouse import state_dir
from tests.fixtures.built import AFTER_IDENTITY, BEFORE_IDENTITY
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt
from tests.fixtures.postgres import database_copy
from tests.fixtures.shared import copy_warehouse
from tests.fixtures.warehouse import RawWarehouse

pytestmark = pytest.mark.slow

RAW_SCHEMAS = ("raw_salesforce", "raw_hubspot", "raw_events")
# Columns that say when or by which load a row was built, not what it holds.
LOAD_TIME_COLUMNS = {"_dlt_load_id", "_identity_run_at"}
COMPARED_SCHEMAS = ("staging", "intermediate", "marts")
DAY = "interval 1 day"
NOBODY = "visitor-seen-nowhere-else"
SHARED_MESSAGE = "shared-computer-message"


@dataclass(frozen=True)
class Halves:
    """The incremental build (a snapshot), its full refresh, and what the first build showed."""

    incremental: Path
    full: Path
    first_build: dict[str, list]


def _key(schema: str, table: str) -> str:
    if schema == "raw_events":
        return "message_id"
    return "from_id" if table.endswith("associations") else "id"


def _raw_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables"
        f" where table_schema in {RAW_SCHEMAS} and table_name not like '\\_dlt\\_%' escape '\\'"
        " order by 1, 2"
    ).fetchall()


def _hold(con, schema: str, table: str, where: str) -> None:
    """Copy the rows of schema.table matching `where` into held.<schema>__<table> (the second load)."""
    con.execute(f"insert into held.{schema}__{table} select * from {schema}.{table} where {where}")


def _one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def split_in_halves(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Leave the first half in the raw tables, the second in schema `held`; the ids the test follows."""
    first_half = "hash({}) % 2 = 1"
    leads = f"from raw_salesforce.lead where not is_deleted and {first_half.format('id')}"
    contacts = f"from raw_hubspot.contacts where not archived and {first_half.format('id')}"
    ids = {
        "lead": _one(con, f"select min(id) {leads}"),
        "ref_lead": _one(con, f"select max(id) {leads}"),
        "account": _one(con, f"select min(id) from raw_salesforce.account where {first_half.format('id')}"),
        "merged": _one(con, f"select min(id) {contacts}"),
        "survivor": _one(con, f"select max(id) {contacts}"),
        "message": _one(
            con,
            "select min(message_id) from raw_events.website"
            f" where type = 'track' and user_id is not null and {first_half.format('message_id')}",
        ),
    }
    # part of the whole world: a Salesforce lead naming the HubSpot contact that the second load merges away
    con.execute(
        f"update raw_salesforce.lead set hub_spot_id__c = '{ids['merged']}' where id = '{ids['ref_lead']}'"
    )
    con.execute("create schema held")
    for schema, table in _raw_tables(con):
        con.execute(f"create table held.{schema}__{table} as select * from {schema}.{table} limit 0")
        columns = {row[0] for row in con.execute(f"describe {schema}.{table}").fetchall()}
        # deleted and archived records stay in the first half (alive, see below)
        second = f"hash({_key(schema, table)}) % 2 = 0" + "".join(
            f" and not {flag}" for flag in ("is_deleted", "archived") if flag in columns
        )
        _hold(con, schema, table, second)
        con.execute(f"delete from {schema}.{table} where {second}")
    # older states of first-half records: alive before being deleted or archived, an older lead version
    for table in ("lead", "opportunity", "opportunitycontactrole"):
        _hold(con, "raw_salesforce", table, "is_deleted")
        con.execute(
            f"update raw_salesforce.{table} set is_deleted = false,"
            f" system_modstamp = system_modstamp - {DAY} where is_deleted"
        )
    for table in ("contacts", "companies", "deals"):
        _hold(con, "raw_hubspot", table, "archived")
        con.execute(
            f"update raw_hubspot.{table} set archived = false, updated_at = updated_at - {DAY} where archived"
        )
    _hold(con, "raw_salesforce", "lead", f"id = '{ids['lead']}'")
    con.execute(
        f"update raw_salesforce.lead set title = 'Older title', system_modstamp = system_modstamp -"
        f" {DAY} where id = '{ids['lead']}'"
    )
    # a replayed copy of a message (from a file that sorts last) arrives first; the original comes later
    _hold(con, "raw_events", "website", f"message_id = '{ids['message']}'")
    con.execute(
        f"update raw_events.website set source_file = 'zz-replay.jsonl', event = 'Replayed'"
        f" where message_id = '{ids['message']}'"
    )
    # ... and the original names an anonymous visitor seen nowhere else
    con.execute(
        f"update held.raw_events__website set user_id = null, anonymous_id = '{NOBODY}', ip = null,"
        f" device_id = null, email = null, phone = null where message_id = '{ids['message']}'"
    )
    ids.update(share_a_visitor(con))
    return ids


def share_a_visitor(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A website visitor of the first half, tied to one user and with anonymous messages too, shows up in the
    second load with another user (a message of theirs that carries no other identifier)."""
    visitor, user, message = con.execute(
        "select anonymous_id, max(user_id), max(message_id) filter (where user_id is not null)"
        " from raw_events.website where anonymous_id is not null group by anonymous_id"
        " having count(distinct user_id) = 1 and count(*) filter (where user_id is null) > 0"
        " order by anonymous_id limit 1"
    ).fetchone()
    other = _one(con, f"select max(user_id) from raw_events.website where user_id <> '{user}'")
    con.execute(
        f"insert into held.raw_events__website select * replace ('{SHARED_MESSAGE}' as message_id,"
        f" '{other}' as user_id, null as email, null as phone, null as traits, null as context)"
        f" from raw_events.website where message_id = '{message}'"
    )
    return {"visitor": visitor, "visitor_user": user, "other_user": other}


def load_second_half(con: duckdb.DuckDBPyConnection, ids: dict[str, str]) -> None:
    """The held rows under a new load id (merged on their key, or appended for events), an old lead version
    replayed, a hard delete of an account and a HubSpot merge."""
    load_id = f"{time.time():.6f}"
    for schema, table in _raw_tables(con):
        held, key = f"held.{schema}__{table}", _key(schema, table)
        if schema != "raw_events":
            con.execute(f"delete from {schema}.{table} where {key} in (select {key} from {held})")
        con.execute(f"update {held} set _dlt_load_id = '{load_id}'")
        con.execute(f"insert into {schema}.{table} select * from {held}")
    con.execute(
        "insert into raw_salesforce.lead select * replace ("
        "system_modstamp - interval 30 day as system_modstamp, 'Replayed title' as title,"
        f" '{load_id}' as _dlt_load_id) from raw_salesforce.lead"
        f" where id = '{ids['lead']}'"
    )
    con.execute(
        "create table raw_salesforce.deleted_records as select id, 'Account' as object_name,"
        f" system_modstamp + {DAY} as deleted_date, 'test' as detected_by, '{load_id}' as _dlt_load_id"
        f" from raw_salesforce.account where id = '{ids['account']}'"
    )
    con.execute(
        f"create table raw_hubspot.contact_merges as select '{ids['merged']}' as id,"
        f" '{ids['survivor']}' as merged_into_id, '{load_id}' as _dlt_load_id"
    )


FIRST_BUILD = {
    "leads": "select lead_id, job_title, hubspot_id from staging.stg_salesforce__leads",
    "accounts": "select account_id from staging.stg_salesforce__accounts",
    "contacts": "select contact_id from staging.stg_hubspot__contacts",
    "archived_contacts": "select count(*) from staging.stg_hubspot__contacts c"
    " join held.raw_hubspot__contacts h on h.id = c.contact_id where h.archived",
    "deleted_leads": "select count(*) from staging.stg_salesforce__leads l join held.raw_salesforce__lead h"
    " on h.id = l.lead_id where h.is_deleted",
    "message": "select message_id, event_name from staging.stg_events__website_messages",
    "resolved_message": "select profile_id from intermediate.int_event_messages_resolved"
    " where message_id = '{message}'",
    "visitor_messages": "select count(*), min(profile_id), max(profile_id) from"
    " intermediate.int_event_messages_resolved where channel = 'website' and source_id = '{visitor}'",
    "user_profile": "select profile_id from identity.profile_map where source_record_type = 'event_user'"
    " and source_system = 'website' and source_id = '{visitor_user}'",
}


def build_as_a_run_does(work: Path, env: dict[str, str], warehouse: Path) -> None:
    assert_dbt_ok(run_dbt(["run", *BEFORE_IDENTITY], work, env))
    resolve_identities(warehouse)
    assert_dbt_ok(run_dbt(["run", *AFTER_IDENTITY], work, env))


@pytest.fixture(scope="module")
def halves(raw_warehouse: RawWarehouse, tmp_path_factory) -> Halves:
    work = tmp_path_factory.mktemp("incremental")
    warehouse = copy_warehouse(raw_warehouse.path, work / "warehouse.duckdb")
    # one path for every run: dbt parses the project once
    env = {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb"}
    with duckdb.connect(str(warehouse)) as con:
        ids = split_in_halves(con)
    build_as_a_run_does(work, env, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        first = {name: con.execute(sql.format(**ids)).fetchall() for name, sql in FIRST_BUILD.items()}
        first["ids"] = ids
        load_second_half(con, ids)
    build_as_a_run_does(work, env, warehouse)
    snapshot = work / "incremental.duckdb"
    shutil.copyfile(warehouse, snapshot)
    # the full build of the same raw tables, at the same path (dbt parses partially), identity as it stands
    assert_dbt_ok(run_dbt(["run", "--full-refresh"], work, env))
    return Halves(snapshot, warehouse, first)


def _differences(con, table: str) -> int:
    columns = [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'warehouse'"
            " and table_schema || '.' || table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        if row[0] not in LOAD_TIME_COLUMNS
    ]
    selected = ", ".join(f'"{c}"' for c in columns)
    one_way = f"select {selected} from {{}}.{table} except all select {selected} from {{}}.{table}"
    return sum(
        _one(con, f"select count(*) from ({one_way.format(a, b)})")
        for a, b in (("incremental", "warehouse"), ("warehouse", "incremental"))
    )


def test_an_incremental_build_equals_the_full_build_in_every_staging_and_mart_table(halves: Halves):
    with duckdb.connect() as con:
        con.execute(f"attach '{halves.incremental}' as incremental (read_only)")
        # under its own name: the views of both files name the catalog "warehouse" (the raw tables are equal)
        con.execute(f"attach '{halves.full}' as warehouse (read_only)")
        tables = [
            row[0]
            for row in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
                f" where table_catalog = 'warehouse' and table_schema in {COMPARED_SCHEMAS} order by 1"
            ).fetchall()
        ]
        assert len(tables) > 20 and "staging.stg_salesforce__leads" in tables
        different = {table: n for table in tables if (n := _differences(con, table))}
        assert different == {}
        empty = [
            t
            for t in tables
            if t.startswith("staging.") or t == "marts.customer_profiles"
            if not _one(con, f"select count(*) from incremental.{t}")
        ]
        assert empty == []


def test_the_second_load_changed_what_the_first_build_showed(halves: Halves):
    first, ids = halves.first_build, halves.first_build["ids"]
    leads = {lead: (title, hubspot_id) for lead, title, hubspot_id in first["leads"]}
    assert leads[ids["lead"]][0] == "Older title" and leads[ids["ref_lead"]][1] == ids["merged"]
    assert (ids["account"],) in first["accounts"] and (ids["merged"],) in first["contacts"]
    assert first["archived_contacts"][0][0] > 0 and first["deleted_leads"][0][0] > 0
    assert (ids["message"], "Replayed") in first["message"]
    with duckdb.connect(str(halves.incremental), read_only=True) as con:

        def staged(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        leads = "select {} from staging.stg_salesforce__leads where lead_id = '{}'"
        [(title,)] = staged(leads.format("job_title", ids["lead"]))
        assert title not in ("Older title", "Replayed title")
        assert staged(leads.format("hubspot_id", ids["ref_lead"])) == [(ids["survivor"],)]
        account, contact = ids["account"], ids["merged"]
        assert staged(f"select 1 from staging.stg_salesforce__accounts where account_id = '{account}'") == []
        assert staged(f"select 1 from staging.stg_hubspot__contacts where contact_id = '{contact}'") == []
        assert (
            staged(
                "select 1 from staging.stg_hubspot__contacts c join raw_hubspot.contacts r"
                " on r.id = c.contact_id where r.archived"
            )
            == []
        )
        assert (
            staged(
                "select 1 from staging.stg_salesforce__leads l join raw_salesforce.lead r"
                " on r.id = l.lead_id where r.is_deleted"
            )
            == []
        )
        [(event,)] = staged(
            "select event_name from staging.stg_events__website_messages"
            f" where message_id = '{ids['message']}'"
        )
        assert event != "Replayed"


def test_the_incremental_build_followed_what_identity_changed(halves: Halves):
    first, ids = halves.first_build, halves.first_build["ids"]
    [(visitor_messages, visitor_profile, _)] = first["visitor_messages"]
    assert first["resolved_message"] and visitor_messages > 0
    assert first["visitor_messages"][0][1:] == (first["user_profile"][0][0],) * 2
    with duckdb.connect(str(halves.incremental), read_only=True) as con:

        def rows(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        message, visitor = ids["message"], ids["visitor"]
        assert (
            rows(f"select 1 from intermediate.int_event_messages_resolved where message_id = '{message}'")
            == []
        )
        assert rows(f"select 1 from marts.touchpoints where message_id = '{message}'") == []
        # the second identity run logged the visitor's record: it lost the link to the first user
        logged = rows(
            "select profile_id, previous_profile_id from identity.record_changes"
            " where run_at = (select max(run_at) from identity.record_changes)"
            " and source_system = 'website' and source_record_type = 'event_anonymous'"
            f" and source_id = '{visitor}'"
        )
        assert [previous for _, previous in logged] == [visitor_profile]
        assert logged[0][0] != visitor_profile
        # a merge moved records with messages: their rows show the profile they moved to
        moved = rows(
            "select count(*) from identity.record_changes c join intermediate.int_touchpoints t"
            " on t.channel = c.source_system and t.source_record_type = c.source_record_type"
            " and t.source_id = c.source_id"
            " where c.run_at = (select max(run_at) from identity.record_changes)"
            " and c.previous_profile_id is not null and c.profile_id <> c.previous_profile_id"
            " and t.profile_id = c.profile_id"
        )
        assert moved[0][0] > 0


# Changes of one load on PostgreSQL: a newer lead version, a lead deleted, a contact archived, another
# merged away, a message resent from a file that sorts first (its copy now wins), and an identify call of
# one website user stating another user's e-mail (identity merges their profiles: messages move).
POSTGRES_LOAD = """
update raw_salesforce.lead set title = 'Changed', system_modstamp = system_modstamp + interval '1 day',
    _dlt_load_id = %(load)s where id = (select min(id) from raw_salesforce.lead where not is_deleted);
update raw_salesforce.lead set is_deleted = true, system_modstamp = system_modstamp + interval '1 day',
    _dlt_load_id = %(load)s where id = (select max(id) from raw_salesforce.lead where not is_deleted);
update raw_hubspot.contacts set archived = true, updated_at = updated_at + interval '1 day',
    _dlt_load_id = %(load)s where id = (select min(id) from raw_hubspot.contacts where not archived);
create table raw_hubspot.contact_merges as
    select max(id) as id, min(id) as merged_into_id, %(load)s as _dlt_load_id
    from raw_hubspot.contacts where not archived;
insert into raw_events.website ({columns})
    select {resent} from raw_events.website
    where message_id = (select min(message_id) from raw_events.website);
insert into raw_events.website ({columns})
    select {merging} from raw_events.website
    where message_id = (
        select min(message_id) from raw_events.website
        where user_id = (select min(user_id) from raw_events.website where email is not null)
    );
"""
RESENT = {"source_file": "'0-resent.jsonl'", "event": "'Resent'", "_dlt_load_id": "%(load)s"}
MERGING = {
    "message_id": "'merging-identify'",
    "email": "(select min(email) from raw_events.website where user_id ="
    " (select max(user_id) from raw_events.website where email is not null))",
    "_dlt_load_id": "%(load)s",
}
POSTGRES_COMPARED = (
    "staging.stg_salesforce__leads",
    "staging.stg_hubspot__contacts",
    "staging.stg_events__website_messages",
    "staging.stg_salesforce__tasks",
    "intermediate.int_events_unioned",
    "intermediate.int_event_messages_resolved",
    "intermediate.int_touchpoints",
)
BEFORE_EVENTS = (*STAGING_SELECTION, "int_identity_records")
AFTER_EVENTS = ("--select", "int_identities_resolved", "int_event_messages_resolved", "int_touchpoints")


def _postgres_load(cursor) -> None:
    cursor.execute(
        "select column_name from information_schema.columns"
        " where table_schema = 'raw_events' and table_name = 'website'"
    )
    columns = [row[0] for row in cursor.fetchall()]
    load = POSTGRES_LOAD.format(
        columns=", ".join(columns),
        resent=", ".join(RESENT.get(c, c) for c in columns),
        merging=", ".join(MERGING.get(c, c) for c in columns),
    )
    cursor.execute(load, {"load": f"{time.time():.6f}"})


@pytest.mark.postgres
def test_an_incremental_run_equals_a_full_refresh_on_postgres(built_postgres_template, tmp_path: Path):
    with database_copy(built_postgres_template.template, "revloop_test_incremental") as database:
        env = database.dbt_env()
        state = tmp_path / "state.duckdb"  # the identity pipeline's local dlt state
        shutil.copytree(state_dir(built_postgres_template.identity_state), state_dir(state))
        with database.connect() as connection, connection.cursor() as cursor:
            _postgres_load(cursor)
        assert_dbt_ok(run_dbt(["run", *BEFORE_EVENTS], tmp_path, env))
        resolve_identities(warehouse=state, destination=database.destination())
        assert_dbt_ok(run_dbt(["run", *AFTER_EVENTS], tmp_path, env))
        with database.connect() as connection, connection.cursor() as cursor:
            cursor.execute("create schema incremental")
            for table in POSTGRES_COMPARED:
                cursor.execute(f"create table incremental.{table.split('.')[1]} as select * from {table}")
        assert_dbt_ok(run_dbt(["run", "--full-refresh", *BEFORE_EVENTS], tmp_path, env))
        assert_dbt_ok(run_dbt(["run", "--full-refresh", *AFTER_EVENTS], tmp_path, env))
        with database.connect() as connection, connection.cursor() as cursor:
            for table in POSTGRES_COMPARED:
                schema, model = table.split(".")
                cursor.execute(
                    "select string_agg(quote_ident(column_name), ', ' order by ordinal_position)"
                    " from information_schema.columns where table_schema = %s and table_name = %s"
                    " and column_name not in ('_dlt_load_id', '_identity_run_at')",
                    [schema, model],
                )
                columns = cursor.fetchone()[0]
                for a, b in (("incremental." + model, table), (table, "incremental." + model)):
                    cursor.execute(
                        f"select count(*) from (select {columns} from {a}"
                        f" except all select {columns} from {b}) as different"
                    )
                    assert cursor.fetchone()[0] == 0, table

            def count(sql: str) -> int:
                cursor.execute(sql)
                return cursor.fetchone()[0]

            assert (
                count("select count(*) from incremental.stg_salesforce__leads where job_title = 'Changed'")
                == 1
            )
            resent = "select count(*) from incremental.{} where event_name = 'Resent'"
            assert count(resent.format("stg_events__website_messages")) == 1
            assert count(resent.format("int_touchpoints")) == 1
            assert (
                count(
                    "select count(*) from incremental.stg_hubspot__contacts c join raw_hubspot.contacts r"
                    " on r.id = c.contact_id"
                    " where r.archived or r.id in (select id from raw_hubspot.contact_merges)"
                )
                == 0
            )
            # the identify call merged two people: messages of records the merge moved now show the survivor
            assert (
                count(
                    "select count(*) from identity.record_changes c join incremental.int_touchpoints t"
                    " on t.channel = c.source_system and t.source_record_type = c.source_record_type"
                    " and t.source_id = c.source_id"
                    " where c.run_at = (select max(run_at) from identity.record_changes)"
                    " and c.profile_id <> c.previous_profile_id and t.profile_id = c.profile_id"
                )
                > 0
            )
