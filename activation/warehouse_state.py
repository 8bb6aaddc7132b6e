"""Sync pairs from the warehouse: desired state (activation.sync_* models) joined to the current CRM records
(activation.crm_* models)."""

import re
from collections.abc import Iterable, Iterator
from typing import Any

import duckdb

from activation.plan import KEY_FIELDS, CrmRecord, SyncPair
from revloop.config.sync import Crm, ObjectMapping
from revloop.profiles import profile_contract
from revloop.warehouse import column_names, iter_dicts, quote, table_exists

# What revloop writes to the CRMs: the profile contract's scores and the segments
ENRICHED_COLUMNS = (*profile_contract().scores, "segments")
RAW_SCHEMA: dict[Crm, str] = {"salesforce": "raw_salesforce", "hubspot": "raw_hubspot"}
# The association tables ingestion/hubspot loads (settings.ASSOCIATIONS), per from object type.
ASSOCIATION_TABLES = {"contacts": "contact_company_associations", "deals": "deal_associations"}


def _squash(name: str) -> str:
    """A column name reduced to letters and digits, so API names meet dlt's snake_case columns."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _rows(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> Iterator[dict[str, Any]]:
    """Rows of a table (none if it does not exist yet), as dicts read in batches."""
    if table_exists(connection, f"{schema}.{table}"):
        yield from iter_dicts(connection, f"select * from {quote(schema)}.{quote(table)}")


def current_model(crm: Crm, object_name: str) -> str:
    """The dbt model of one CRM object's current records: crm_<crm>__<raw table> (models/sync/)."""
    table = object_name.lower() if crm == "salesforce" else object_name
    return f"crm_{crm}__{table}"


def current_records(
    connection: duckdb.DuckDBPyConnection, crm: Crm, object_name: str, fields: Iterable[str]
) -> dict[str, CrmRecord]:
    """The current records of one CRM object (its dbt model crm_*), with fields under their API names.

    Only the columns of those fields are read, in batches: the model holds every raw column."""
    model = current_model(crm, object_name)
    columns = {_squash(c): c for c in column_names(connection, "activation", model)}
    if not columns:
        return {}
    named = {f: columns[_squash(f)] for f in fields if _squash(f) in columns}
    modified = "system_modstamp" if crm == "salesforce" else "updated_at"
    # Salesforce's LastModifiedById; HubSpot names none
    author = columns.get(_squash("LastModifiedById"))
    read = dict.fromkeys(["id", modified, *filter(None, [author]), *named.values()])
    sql = f"select {', '.join(map(quote, read))} from activation.{quote(model)}"
    records = {}
    for row in iter_dicts(connection, sql):
        values = {f: row[column] for f, column in named.items()}
        by = row[author] if author else None
        records[row["id"]] = CrmRecord(crm, object_name, row["id"], row[modified], values, by)
    return records


def _fields(mapping: ObjectMapping, crm: Crm) -> list[str]:
    return [n for f in mapping.fields if (n := f.name_on(crm))] + list(KEY_FIELDS[crm])


def _desired(row: dict[str, Any]) -> dict[str, Any]:
    return {c: row.get(c) for c in ENRICHED_COLUMNS}


def _email(record: CrmRecord) -> str | None:
    value = record.values.get("Email" if record.crm == "salesforce" else "email")
    return str(value).strip().lower() or None if value else None


def records_match(salesforce: CrmRecord, hubspot: CrmRecord) -> bool:
    """Whether a Salesforce and a HubSpot person record are one person's: the same e-mail, or linked by the
    cross ids stored on them. A profile's records linked otherwise (a phone, a name) may be a wrong merge."""
    if salesforce.values.get("HubSpot_Id__c") == hubspot.record_id:
        return True
    if hubspot.values.get("salesforce_id") == salesforce.record_id:
        return True
    email = _email(salesforce)
    return email is not None and email == _email(hubspot)


def _people(connection: duckdb.DuckDBPyConnection, mapping: ObjectMapping) -> list[SyncPair]:
    salesforce: dict[str, CrmRecord] = {}
    for object_name in mapping.salesforce:
        fields = _fields(mapping, "salesforce")
        salesforce.update(current_records(connection, "salesforce", object_name, fields))
    hubspot = current_records(connection, "hubspot", mapping.hubspot, _fields(mapping, "hubspot"))
    # the Account paired with a Contact's HubSpot partner's company: the Contact's AccountId where it has none
    account_of = {r["contact_id"]: r["company_salesforce_account_id"] for r in contact_accounts(connection)}
    pairs, paired_hubspot = [], set()
    for object_name in mapping.salesforce:
        id_column = f"{object_name.lower()}_id"
        for row in _rows(connection, "activation", f"sync_salesforce__{object_name.lower()}s"):
            record = salesforce.get(row[id_column])
            if record is None:
                continue
            partner = hubspot.get(row["hubspot_contact_id"]) if row["is_primary"] else None
            if partner is not None:
                paired_hubspot.add(partner.record_id)
            matched = partner is None or records_match(record, partner)
            desired = _desired(row)
            if partner is not None and matched:
                desired["salesforce_account_id"] = account_of.get(record.record_id)
            primary = bool(row["is_primary"])
            pairs.append(SyncPair(row["revloop_id"], record, partner, desired, primary, matched))
    for row in _rows(connection, "activation", f"sync_hubspot__{mapping.hubspot}"):
        record = hubspot.get(row["hubspot_contact_id"])
        if record is None or record.record_id in paired_hubspot:
            continue
        # a primary contact whose Salesforce partner exists but is not loadable must not be created again
        may_create = bool(row["is_primary"]) and row["salesforce_id"] is None
        pairs.append(SyncPair(row["revloop_id"], None, record, _desired(row), may_create))
    return pairs


def _companies(connection: duckdb.DuckDBPyConnection, mapping: ObjectMapping) -> list[SyncPair]:
    [object_name] = mapping.salesforce
    salesforce = current_records(connection, "salesforce", object_name, _fields(mapping, "salesforce"))
    hubspot = current_records(connection, "hubspot", mapping.hubspot, _fields(mapping, "hubspot"))
    pairs, paired_hubspot = [], set()
    for row in _rows(connection, "activation", "sync_salesforce__accounts"):
        record = salesforce.get(row["account_id"])
        if record is not None:
            partner = hubspot.get(row["hubspot_company_id"] or "")
            paired_hubspot.add(row["hubspot_company_id"])
            pairs.append(SyncPair(row["revloop_id"], record, partner))
    for row in _rows(connection, "activation", "sync_hubspot__companies"):
        record = hubspot.get(row["hubspot_company_id"])
        if record is not None and row["hubspot_company_id"] not in paired_hubspot:
            pairs.append(SyncPair(row["revloop_id"], None, record, may_create=row["salesforce_id"] is None))
    return pairs


def _cross_linked(connection: duckdb.DuckDBPyConnection, mapping: ObjectMapping) -> list[SyncPair]:
    [object_name] = mapping.salesforce
    salesforce = current_records(connection, "salesforce", object_name, _fields(mapping, "salesforce"))
    hubspot = current_records(connection, "hubspot", mapping.hubspot, _fields(mapping, "hubspot"))
    # warehouse values for records created from a HubSpot record (a deal's Account), when the model exists
    id_column = f"hubspot_{mapping.hubspot.removesuffix('s')}_id"
    model = f"sync_hubspot__{mapping.hubspot}"
    desired = {row[id_column]: row for row in _rows(connection, "activation", model)}
    partner_of = {r.values.get("salesforce_id"): r for r in hubspot.values() if r.values.get("salesforce_id")}
    pairs, paired_hubspot = [], set()
    for record in salesforce.values():
        partner = hubspot.get(record.values.get("HubSpot_Id__c") or "") or partner_of.get(record.record_id)
        if partner is not None:
            paired_hubspot.add(partner.record_id)
        key = record.values.get("Revloop_Id__c") or f"{object_name.lower()}:{record.record_id}"
        pairs.append(SyncPair(key, record, partner))
    for record in hubspot.values():
        if record.record_id not in paired_hubspot:
            key = record.values.get("revloop_id") or f"{mapping.hubspot}:{record.record_id}"
            may_create = not record.values.get("salesforce_id")
            pairs.append(SyncPair(key, None, record, desired.get(record.record_id, {}), may_create))
    return pairs


def created_records(connection: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(crm, record id) of every record revloop created, from activation.sync_log: a create whose answer was
    lost is logged 'updated' (the retried upsert met the record the first try made), and is revloop's too."""
    if not table_exists(connection, "activation.sync_log"):
        return set()
    rows = connection.execute(
        "select distinct crm, record_id from activation.sync_log where operation = 'create'"
        " and status in ('created', 'updated') and coalesce(record_id, '') <> ''"
    ).fetchall()
    return set(rows)


def contact_accounts(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Rows of activation.sync_salesforce__contact_accounts: a Contact, its Account and their partners."""
    return list(_rows(connection, "activation", "sync_salesforce__contact_accounts"))


def deal_companies(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Rows of activation.sync_salesforce__opportunities: Opportunity, Account, the Account's company."""
    return list(_rows(connection, "activation", "sync_salesforce__opportunities"))


def hubspot_associations(
    connection: duckdb.DuckDBPyConnection, from_type: str, to_type: str
) -> set[tuple[str, str]]:
    """(from id, to id) of the HubSpot associations ingestion loaded, of any type."""
    schema, table = RAW_SCHEMA["hubspot"], ASSOCIATION_TABLES[from_type]
    columns = column_names(connection, schema, table)
    if "to_type" not in columns:
        return set()
    live = "and not coalesce(is_removed, false)" if "is_removed" in columns else ""
    sql = f"select distinct from_id::varchar, to_id::varchar from {schema}.{quote(table)} where to_type = ?"
    rows = connection.execute(f"{sql} {live}", [to_type]).fetchall()
    return set(rows)


def synced_raw_tables(mappings: Iterable[ObjectMapping]) -> list[tuple[Crm, str, str]]:
    """(crm, CRM object, raw table) of every object the mappings sync."""
    objects: dict[tuple[Crm, str], None] = {}
    for mapping in mappings:
        objects |= dict.fromkeys(("salesforce", name) for name in mapping.salesforce)
        objects[("hubspot", mapping.hubspot)] = None
    return [(crm, name, name.lower() if crm == "salesforce" else name) for crm, name in objects]


def views_behind_raw(connection: duckdb.DuckDBPyConnection, mapping: ObjectMapping) -> list[str]:
    """The crm_* views of a mapping that lack a mapped field their raw table has: built before that field
    was loaded (a property the first sync created), they read it as empty until dbt builds them again."""
    behind = []
    for crm, object_name, table in synced_raw_tables([mapping]):
        fields = {_squash(f) for f in _fields(mapping, crm)}
        raw = {_squash(c) for c in column_names(connection, RAW_SCHEMA[crm], table)} & fields
        model = current_model(crm, object_name)
        if raw - {_squash(c) for c in column_names(connection, "activation", model)}:
            behind.append(model)
    return behind


def newest_loads(connection: duckdb.DuckDBPyConnection) -> dict[Crm, str]:
    """Per CRM, the id of its newest complete raw load (dlt's _dlt_loads; absent before the first)."""
    loads: dict[Crm, str] = {}
    for crm, schema in RAW_SCHEMA.items():
        if table_exists(connection, f"{schema}._dlt_loads"):
            sql = f"select max(load_id) from {schema}._dlt_loads where status = 0"
            newest = connection.execute(sql).fetchall()[0][0]
            if newest is not None:
                loads[crm] = newest
    return loads


def records_loaded_since(
    connection: duckdb.DuckDBPyConnection, mappings: Iterable[ObjectMapping], loads: dict[str, str]
) -> set[tuple[str, str]]:
    """(crm, record id) of the mapped objects' raw records loaded after loads[crm] (every record of a CRM
    missing from loads)."""
    changed: set[tuple[str, str]] = set()
    for crm, _, table in synced_raw_tables(mappings):
        relation = f"{RAW_SCHEMA[crm]}.{quote(table)}"
        if not table_exists(connection, f"{RAW_SCHEMA[crm]}.{table}"):
            continue
        since = loads.get(crm)
        where, parameters = ("", []) if since is None else ("where _dlt_load_id::double > ?::double", [since])
        rows = connection.execute(f"select distinct id::varchar from {relation} {where}", parameters)
        changed.update((crm, record_id) for (record_id,) in rows.fetchall())
    return changed


def load_pairs(connection: duckdb.DuckDBPyConnection, mapping: ObjectMapping) -> list[SyncPair]:
    """Every pair of records one mapped object syncs, matched the way its config says."""
    loader = {"identity": _people, "domain": _companies, "cross_id": _cross_linked}[mapping.match]
    return loader(connection, mapping)
