"""Does a warehouse still belong to this sandbox? Record ids it holds that the sandbox never had say no."""

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revloop.warehouse import connect_warehouse
from sandbox.hubspot import state as hubspot_state
from sandbox.runner import Sandbox
from sandbox.salesforce import state as salesforce_state

# Ingested CRM tables whose ids identify the sandbox's records: (crm, schema, table, HubSpot object type).
_RAW_TABLES = (
    ("salesforce", "raw_salesforce", "lead", None),
    ("salesforce", "raw_salesforce", "contact", None),
    ("salesforce", "raw_salesforce", "account", None),
    ("salesforce", "raw_salesforce", "opportunity", None),
    ("hubspot", "raw_hubspot", "contacts", "contacts"),
    ("hubspot", "raw_hubspot", "companies", "companies"),
    ("hubspot", "raw_hubspot", "deals", "deals"),
)
_EXAMPLES = 3


@dataclass
class WarehouseCheck:
    """Ids the warehouse holds that the sandbox does not, per CRM: written by revloop, and ingested."""

    warehouse: Path
    written_missing: dict[str, list[str]] = field(default_factory=dict)  # crm -> ids in sync_log
    written_total: int = 0
    ingested_missing: dict[str, list[str]] = field(default_factory=dict)  # crm -> ingested ids
    ingested_total: int = 0
    skipped: str | None = None  # why the warehouse could not be read

    @property
    def matches(self) -> bool:
        return not self.written_missing and not self.ingested_missing

    def message(self, state_file: Path) -> str:
        """What does not match and what to do about it."""
        lines = [f"The warehouse {self.warehouse} does not match the sandbox saved in {state_file}:"]
        for crm, ids in self.written_missing.items():
            lines.append(
                f"  activation.sync_log says revloop created or updated {len(ids)} {crm} records the sandbox "
                f"does not hold (e.g. {', '.join(ids[:_EXAMPLES])})"
            )
        for crm, ids in self.ingested_missing.items():
            lines.append(
                f"  {len(ids)} ingested {crm} record ids are unknown to the sandbox "
                f"(e.g. {', '.join(ids[:_EXAMPLES])})"
            )
        lines += [
            "The warehouse was filled from another sandbox (its state file was deleted or reset, or the "
            "warehouse was copied here). Either put that sandbox's state file back, or start both over:",
            "  make dev RESET=1   (removes the warehouse, its state folder and the event files, then starts "
            "a new sandbox)",
        ]
        return "\n".join(lines)


def _held(sandbox: Sandbox, crm: str, object_type: str | None, record_id: str) -> bool:
    if crm == "salesforce":
        return salesforce_state.holds(sandbox.salesforce.app, record_id)
    return hubspot_state.holds(sandbox.hubspot.app, object_type or "", record_id)


def _tables(connection: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
    return {(schema, table) for schema, table in rows}


def check_warehouse(warehouse: Path, sandbox: Sandbox) -> WarehouseCheck:
    """Compare the warehouse's CRM record ids (ingested, and written by revloop) with the sandbox's."""
    check = WarehouseCheck(warehouse)
    if not warehouse.exists():
        return check
    try:
        connection = connect_warehouse(warehouse, read_only=True)
    except duckdb.Error as exc:  # e.g. a run holds the file: the check must not block the start
        check.skipped = f"the warehouse could not be opened ({str(exc).splitlines()[0]})"
        return check
    try:
        tables = _tables(connection)
        if ("activation", "sync_log") in tables:
            written = connection.execute(
                "select distinct crm, crm_object, record_id from activation.sync_log "
                "where status in ('created', 'updated') and record_id is not null order by all"
            ).fetchall()
            check.written_total = len(written)
            for crm, crm_object, record_id in written:
                if not _held(sandbox, crm, crm_object, record_id):
                    check.written_missing.setdefault(crm, []).append(record_id)
        for crm, schema, table, object_type in _RAW_TABLES:
            if (schema, table) not in tables:
                continue
            ids = connection.execute(f'select distinct id from "{schema}"."{table}" order by id').fetchall()
            check.ingested_total += len(ids)
            for (record_id,) in ids:
                if not _held(sandbox, crm, object_type, str(record_id)):
                    check.ingested_missing.setdefault(crm, []).append(str(record_id))
    finally:
        connection.close()
    return check
