"""The sandbox org's records: validated writes, derived fields, timestamps, unique indexes and rollback."""

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sandbox.salesforce import schema
from sandbox.salesforce.errors import SalesforceError, entity_is_deleted, malformed_id, not_found
from sandbox.salesforce.ids import make_id, normalize_id
from sandbox.salesforce.schema import SfField
from sandbox.salesforce.values import TEXT_TYPES, coerce, truncate_ms

# The user the API session runs as: owner and author of everything written through the API.
INTEGRATION_USER_ID = make_id("005", 1, pod="0i")

_AUDIT_FIELDS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
_LENGTH_CHECKED = TEXT_TYPES - {"id", "reference"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DEFAULTS: dict[str, dict[str, object]] = {
    "User": {"IsActive": True},
    "Lead": {"Status": "Open - Not Contacted"},
    "Task": {"Status": "Not Started", "Priority": "Normal"},
    "Group": {"Type": "Regular", "DoesSendEmailToMembers": False},
}


@dataclass
class SObjectTable:
    """One sObject type of the org: its fields and its records (deleted ones included)."""

    name: str
    key_prefix: str
    fields: dict[str, SfField]
    records: dict[str, dict] = field(default_factory=dict)
    unique: dict[str, dict[object, set[str]]] = field(init=False)  # field -> folded value -> live ids
    next_number: int = 1

    def __post_init__(self) -> None:
        self.by_lower = {name.lower(): f for name, f in self.fields.items()}
        self.unique = {f.name: {} for f in self.fields.values() if f.unique or f.external_id}

    def field(self, name: str) -> SfField | None:
        """The field named name, compared without case as Salesforce does."""
        return self.by_lower.get(name.lower())

    def required_on_create(self) -> list[str]:
        """Fields a create must set: not nillable and without a default (OwnerId defaults to the caller)."""
        defaults = _DEFAULTS.get(self.name, {})
        return [
            f.name
            for f in self.fields.values()
            if not f.nillable
            and f.createable
            and f.type != "boolean"
            and f.name not in defaults
            and f.name != "OwnerId"
        ]


def fold(value: object) -> object:
    """The key under which a unique value is indexed: text compares without case, Salesforce's default."""
    return value.lower() if isinstance(value, str) else value


class SandboxOrg:
    """All records of the sandbox org and the rules every write goes through."""

    def __init__(self, clock: Callable[[], datetime], with_revloop_fields: bool = True) -> None:
        self.clock = clock
        self.tables: dict[str, SObjectTable] = {}
        for name, prefix in schema.KEY_PREFIXES.items():
            fields = schema.fields(name, with_revloop_fields=with_revloop_fields)
            self.tables[name] = SObjectTable(name, prefix, {f.name: f for f in fields})
        self._tables_lower = {name.lower(): table for name, table in self.tables.items()}
        self._prefixes = {table.key_prefix: table for table in self.tables.values()}
        self._undo: list[tuple[SObjectTable, str, dict | None]] | None = None

    # Lookup -------------------------------------------------------------------------------------
    def table(self, object_name: str) -> SObjectTable | None:
        return self._tables_lower.get(object_name.lower())

    def existing_table(self, object_name: str) -> SObjectTable:
        """The table of object_name, or the 404 Salesforce answers for an unknown sObject type."""
        table = self.table(object_name)
        if table is None:
            raise not_found()
        return table

    def table_for_id(self, record_id: str) -> SObjectTable | None:
        """The table whose key prefix starts record_id."""
        return self._prefixes.get(record_id[:3])

    def get(self, table: SObjectTable, record_id: str) -> dict:
        """A live record by id; 404 NOT_FOUND when unknown, ENTITY_IS_DELETED when in the recycle bin."""
        normalized = normalize_id(record_id)
        if normalized is None or not normalized.startswith(table.key_prefix):
            raise malformed_id(record_id) if normalized is None else not_found()
        record = table.records.get(normalized)
        if record is None:
            raise not_found()
        if record.get("IsDeleted"):
            raise entity_is_deleted()
        return record

    def find_by(self, table: SObjectTable, field_name: str, value: object) -> list[dict]:
        """Live records whose external-id field equals value."""
        index = table.unique.get(field_name, {})
        return [table.records[i] for i in sorted(index.get(fold(value), ()))]

    def rows(self, table: SObjectTable, include_deleted: bool) -> Iterator[dict]:
        if include_deleted:
            return iter(table.records.values())
        return (r for r in table.records.values() if not r.get("IsDeleted"))

    # Seeding ------------------------------------------------------------------------------------
    def seed(self, object_name: str, records: Iterable[dict]) -> list[str]:
        """Load records as given (system fields kept when present); returns their ids."""
        table = self.existing_table(object_name)
        now = self.now()
        ids = []
        for given in records:
            record = self._seed_record(table, given, now)
            table.records[record["Id"]] = record
            self._index(table, record)
            ids.append(record["Id"])
        return ids

    def _seed_record(self, table: SObjectTable, given: dict, now: datetime) -> dict:
        record = self._blank(table)
        for key, value in given.items():
            f = table.field(key)
            if f is None:
                if key == "IsDeleted":
                    record["IsDeleted"] = bool(value)
                    continue
                if value is None:
                    continue  # a field this org lacks, left empty by the generator
                raise ValueError(f"{table.name} has no field {key!r} in this sandbox org")
            try:
                record[f.name] = coerce(f, value)
            except SalesforceError as exc:
                raise ValueError(f"{table.name}.{f.name}: {exc.message}") from exc
        if record.get("Id") is None:
            record["Id"] = self._new_id(table)
        elif normalize_id(record["Id"]) is None:
            raise ValueError(f"{table.name}: malformed id {record['Id']!r}")
        elif not record["Id"].startswith(table.key_prefix):
            raise ValueError(f"{table.name}: id {record['Id']!r} lacks the key prefix {table.key_prefix}")
        else:
            record["Id"] = normalize_id(record["Id"])
        for name, value in _DEFAULTS.get(table.name, {}).items():
            if name not in given:
                record[name] = value
        created = record.get("CreatedDate") or now
        self._set_if_field(table, record, "CreatedDate", created)
        self._set_if_field(table, record, "LastModifiedDate", record.get("LastModifiedDate") or created)
        self._set_if_field(
            table,
            record,
            "SystemModstamp",
            record.get("SystemModstamp") or record.get("LastModifiedDate") or created,
        )
        for name in ("CreatedById", "LastModifiedById", "OwnerId"):
            if record.get(name) is None:
                self._set_if_field(table, record, name, INTEGRATION_USER_ID)
        derive(table.name, record)
        return record

    # Writes -------------------------------------------------------------------------------------
    def parse(self, table: SObjectTable, body: dict) -> dict[str, object]:
        """Body values by field name: INVALID_FIELD for unknown names, JSON_PARSER_ERROR for bad types."""
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        values: dict[str, object] = {}
        for key, value in body.items():
            if key == "attributes":
                continue
            f = table.field(key)
            if f is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {table.name}"
                )
            values[f.name] = coerce(f, value)
        return values

    def create(self, table: SObjectTable, values: dict[str, object]) -> str:
        """Insert a record from parsed values; returns the new id."""
        self._check_writable(table, values, creating=True)
        missing = [name for name in table.required_on_create() if values.get(name) is None]
        if missing:
            raise SalesforceError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        record = self._blank(table)
        record.update(_DEFAULTS.get(table.name, {}))
        record.update({k: v for k, v in values.items() if v is not None})
        self._check_values(table, record, values, None)
        record["Id"] = self._new_id(table)
        now = self.now()
        for name in _AUDIT_FIELDS:
            self._set_if_field(table, record, name, now)
        for name in ("CreatedById", "LastModifiedById"):
            self._set_if_field(table, record, name, INTEGRATION_USER_ID)
        if record.get("OwnerId") is None:
            self._set_if_field(table, record, "OwnerId", INTEGRATION_USER_ID)
        derive(table.name, record)
        self._store(table, record["Id"], record)
        self._one_primary_role(table, record)
        return record["Id"]

    def update(self, table: SObjectTable, record_id: str, values: dict[str, object]) -> str:
        """Apply parsed values to a live record; returns its id."""
        current = self.get(table, record_id)
        self._check_writable(table, values)
        nulled = [name for name, value in values.items() if value is None and not table.fields[name].nillable]
        nulled = [name for name in nulled if table.fields[name].type != "boolean"]
        if nulled:
            raise SalesforceError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(nulled)}]", nulled
            )
        record = dict(current)
        for name, value in values.items():
            record[name] = False if value is None and table.fields[name].type == "boolean" else value
        self._check_values(table, record, values, current["Id"])
        self._touch(table, record)
        derive(table.name, record)
        self._store(table, current["Id"], record)
        self._one_primary_role(table, record)
        return current["Id"]

    def delete(self, table: SObjectTable, record_id: str) -> str:
        """Move a record to the recycle bin: IsDeleted true, visible to queryAll only."""
        if "IsDeleted" not in table.fields:
            raise SalesforceError(400, "DELETE_FAILED", f"{table.name} records cannot be deleted")
        current = self.get(table, record_id)
        record = dict(current, IsDeleted=True)
        self._touch(table, record)
        self._store(table, current["Id"], record)
        self._delete_roles_of(table, current["Id"])
        return current["Id"]

    def _one_primary_role(self, table: SObjectTable, record: dict) -> None:
        """A contact role made primary takes the flag from its Opportunity's other roles (one primary)."""
        if table.name != "OpportunityContactRole" or not record.get("IsPrimary"):
            return
        for other in list(self.rows(table, include_deleted=False)):
            sibling = other["OpportunityId"] == record["OpportunityId"] and other["Id"] != record["Id"]
            if sibling and other["IsPrimary"]:
                demoted = dict(other, IsPrimary=False)
                self._touch(table, demoted)
                self._store(table, other["Id"], demoted)

    def _delete_roles_of(self, table: SObjectTable, record_id: str) -> None:
        """Deleting an Opportunity or a Contact deletes the contact roles that name it."""
        column = {"Opportunity": "OpportunityId", "Contact": "ContactId"}.get(table.name)
        if column is None:
            return
        roles = self.tables["OpportunityContactRole"]
        for role in list(self.rows(roles, include_deleted=False)):
            if role[column] == record_id:
                deleted = dict(role, IsDeleted=True)
                self._touch(roles, deleted)
                self._store(roles, role["Id"], deleted)

    def upsert(
        self, table: SObjectTable, field_name: str, key: object, values: dict[str, object]
    ) -> tuple[str, bool]:
        """Update the one live record whose external id is key, or create it; returns (id, created)."""
        matches = self.find_by(table, field_name, key)
        if len(matches) > 1:
            raise SalesforceError(
                300,
                "DUPLICATE_EXTERNAL_ID",
                f"{field_name}: more than one record found for external id field: "
                f"[{', '.join(m['Id'] for m in matches)}]",
            )
        if matches:
            return self.update(table, matches[0]["Id"], values), False
        return self.create(table, {**values, field_name: key}), True

    # Transactions -------------------------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[Callable[[], None]]:
        """Collect undo information; the yielded callable rolls back every write made inside."""
        outer, self._undo = self._undo, []
        undo = self._undo

        def rollback() -> None:
            for table, record_id, previous in reversed(undo):
                self._unindex(table, table.records.get(record_id))
                if previous is None:
                    table.records.pop(record_id, None)
                else:
                    table.records[record_id] = previous
                    self._index(table, previous)
            undo.clear()

        try:
            yield rollback
        finally:
            self._undo = outer

    # Internals ----------------------------------------------------------------------------------
    def now(self) -> datetime:
        return truncate_ms(self.clock())

    def _blank(self, table: SObjectTable) -> dict:
        record: dict = {name: (False if f.type == "boolean" else None) for name, f in table.fields.items()}
        record["IsDeleted"] = False
        return record

    def _new_id(self, table: SObjectTable) -> str:
        while (candidate := make_id(table.key_prefix, table.next_number)) in table.records:
            table.next_number += 1
        table.next_number += 1
        return candidate

    @staticmethod
    def _set_if_field(table: SObjectTable, record: dict, name: str, value: object) -> None:
        if name in table.fields:
            record[name] = value

    def _touch(self, table: SObjectTable, record: dict) -> None:
        now = self.now()
        self._set_if_field(table, record, "LastModifiedDate", now)
        self._set_if_field(table, record, "SystemModstamp", now)
        self._set_if_field(table, record, "LastModifiedById", INTEGRATION_USER_ID)

    def _check_writable(self, table: SObjectTable, values: dict[str, object], creating: bool = False) -> None:
        locked = [
            name for name in values
            if not (table.fields[name].createable if creating else table.fields[name].updateable)
        ]
        if locked:
            raise SalesforceError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set.",
                locked,
            )

    def _check_values(
        self, table: SObjectTable, record: dict, values: dict[str, object], own_id: str | None
    ) -> None:
        for name, value in values.items():
            f = table.fields[name]
            if value is None:
                continue
            if f.type in _LENGTH_CHECKED and f.length and len(value) > f.length:
                raise SalesforceError(
                    400,
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value[:80]} (max length={f.length})",
                    [name],
                )
            if f.type == "email" and not _EMAIL.fullmatch(value):
                raise SalesforceError(
                    400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [name]
                )
            if f.type == "reference":
                record[name] = self._check_reference(f, value)
                if name == "OwnerId":
                    self._check_queue_owner(table, record[name])
            if name in table.unique:
                clash = table.unique[name].get(fold(value), set()) - {own_id}
                if clash:
                    raise SalesforceError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: {min(clash)}",
                        [name],
                    )

    def _check_reference(self, f: SfField, value: str) -> str:
        normalized = normalize_id(value)
        if normalized is None:
            raise malformed_id(value, f.name)
        target = self._prefixes.get(normalized[:3])
        if target is None or target.name not in f.reference_to:
            raise SalesforceError(
                400, "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        if normalized == INTEGRATION_USER_ID:
            return normalized
        referenced = target.records.get(normalized)
        if referenced is None or referenced.get("IsDeleted"):
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", f"{f.label}: invalid cross reference id", [f.name]
            )
        return normalized

    def _check_queue_owner(self, table: SObjectTable, owner_id: str) -> None:
        """A Group owns a record only when it is a queue that supports the record's object."""
        groups = self.tables["Group"]
        if owner_id not in groups.records:
            return
        supported = groups.records[owner_id].get("Type") == "Queue" and any(
            q.get("QueueId") == owner_id and q.get("SobjectType") == table.name
            for q in self.tables["QueueSobject"].records.values()
        )
        if not supported:
            raise SalesforceError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"Owner ID: id value of incorrect type: {owner_id}",
                ["OwnerId"],
            )

    def _store(self, table: SObjectTable, record_id: str, record: dict) -> None:
        previous = table.records.get(record_id)
        if self._undo is not None:
            self._undo.append((table, record_id, previous))
        self._unindex(table, previous)
        table.records[record_id] = record
        self._index(table, record)

    @staticmethod
    def _index(table: SObjectTable, record: dict | None) -> None:
        if record is None or record.get("IsDeleted"):
            return
        for name, index in table.unique.items():
            if record.get(name) is not None:
                index.setdefault(fold(record[name]), set()).add(record["Id"])

    @staticmethod
    def _unindex(table: SObjectTable, record: dict | None) -> None:
        if record is None:
            return
        for name, index in table.unique.items():
            ids = index.get(fold(record.get(name)))
            if ids is not None:
                ids.discard(record["Id"])
                if not ids:
                    del index[fold(record.get(name))]


def derive(object_name: str, record: dict) -> None:
    """Maintain the fields Salesforce computes: full names and the closed/won flags."""
    if object_name in ("Lead", "Contact", "User"):
        record["Name"] = (
            " ".join(part for part in (record.get("FirstName"), record.get("LastName")) if part) or None
        )
    elif object_name == "Opportunity":
        stage = record.get("StageName")
        record["IsClosed"] = stage in ("Closed Won", "Closed Lost")
        record["IsWon"] = stage == "Closed Won"
    elif object_name == "Task":
        record["IsClosed"] = record.get("Status") == "Completed"
