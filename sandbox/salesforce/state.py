"""The sandbox org as plain data and back: what the sandbox keeps across restarts (sandbox/state.py)."""

from typing import Any

from sandbox.salesforce.emulator import SalesforceEmulator
from sandbox.salesforce.ids import normalize_id


def snapshot(emulator: SalesforceEmulator) -> dict[str, Any]:
    """Every record (deleted ones included), the id counters and the purged ids, as dicts and values."""
    with emulator.lock:
        return {
            "tables": {
                name: {"records": {i: dict(r) for i, r in table.records.items()}, "next": table.next_number}
                for name, table in emulator.org.tables.items()
                if table.records or table.next_number > 1
            },
            "purged": {name: dict(ids) for name, ids in emulator.purged.items()},
        }


def restore(emulator: SalesforceEmulator, state: dict[str, Any]) -> None:
    """Replace the org's records by a snapshot's; unknown objects are an error (another sandbox version)."""
    with emulator.lock:
        org = emulator.org
        unknown = sorted(set(state["tables"]) - set(org.tables))
        if unknown:
            raise ValueError(f"the saved Salesforce org has objects this sandbox lacks: {', '.join(unknown)}")
        for name, saved in state["tables"].items():
            table = org.tables[name]
            table.records = saved["records"]
            table.next_number = saved["next"]
            for index in table.unique.values():
                index.clear()
            for record in table.records.values():
                org._index(table, record)  # the unique indexes are derived, not saved
        emulator.purged = state["purged"]


def holds(emulator: SalesforceEmulator, record_id: str) -> bool:
    """Whether the org has or had record_id: live, in the recycle bin or purged from it."""
    normalized = normalize_id(record_id)
    with emulator.lock:
        table = None if normalized is None else emulator.org.table_for_id(normalized)
        if table is None:
            return False
        return normalized in table.records or normalized in emulator.purged.get(table.name, {})
