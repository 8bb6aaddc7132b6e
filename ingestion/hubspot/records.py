"""HubSpot API records as flat, typed warehouse rows: one column per property."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

# The columns every object row carries; a property of the same name is stored as property_<name>.
SYSTEM_COLUMNS = {
    "id": {"data_type": "text", "nullable": False},
    "created_at": {"data_type": "timestamp", "nullable": True},
    # A record read twice in one load (page boundaries, archived mid-run) keeps its latest version.
    "updated_at": {"data_type": "timestamp", "nullable": True, "dedup_sort": "desc"},
    "archived": {"data_type": "bool", "nullable": True},
    "archived_at": {"data_type": "timestamp", "nullable": True},
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# dlt column type per HubSpot property type; anything else (string, enumeration, phone_number...) is text.
COLUMN_TYPES = {"number": "decimal", "datetime": "timestamp", "date": "date", "bool": "bool"}


class UnparsableRecord(ValueError):
    """A record whose id, timestamps or typed property values cannot be read."""


def parse_moment(value: str | int) -> datetime:
    """A HubSpot timestamp (ISO 8601 or epoch milliseconds) as an aware UTC datetime."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return _EPOCH + timedelta(milliseconds=int(text))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """A datetime as the epoch milliseconds HubSpot's search filters compare."""
    # Integer arithmetic: float seconds * 1000 can land a millisecond short; flooring only widens a bound.
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1)


def _parse_date(text: str) -> date:
    # Date properties also come as epoch milliseconds or a timestamp at midnight UTC.
    return parse_moment(text).date() if text.isdigit() or len(text) > 10 else date.fromisoformat(text)


def _parse_number(text: str) -> Decimal:
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"{text!r} is not true or false")
    return lowered == "true"


_PARSERS = {"number": _parse_number, "datetime": parse_moment, "date": _parse_date, "bool": _parse_bool}


def parse_property(property_type: str, raw: Any) -> Any:
    """A property value (HubSpot sends them all as strings) in the Python type of its property type."""
    if raw is None:
        return None
    parser = _PARSERS.get(property_type)
    if parser is None:
        return raw if isinstance(raw, str) else str(raw)
    text = str(raw).strip()
    if text == "":  # a cleared typed property comes back as an empty string
        return None
    return parser(text)


def column_name(property_name: str) -> str:
    """The warehouse column of a property; system column names win over same-named properties."""
    return f"property_{property_name}" if property_name in SYSTEM_COLUMNS else property_name


def property_columns(property_types: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """dlt column hints for the system columns and one column per property, typed by property type."""
    columns = {name: dict(spec) for name, spec in SYSTEM_COLUMNS.items()}
    for name, property_type in property_types.items():
        columns[column_name(name)] = {"data_type": COLUMN_TYPES.get(property_type, "text"), "nullable": True}
    return columns


def _moment_or_none(record: Mapping[str, Any], key: str) -> datetime | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    try:
        return parse_moment(value)
    except (TypeError, ValueError) as exc:
        raise UnparsableRecord(f"{key} {value!r} is not a timestamp: {exc}") from None


def flatten_object(record: Mapping[str, Any], property_types: Mapping[str, str]) -> dict[str, Any]:
    """One CRM object (search, list or batch-read shape) as a flat row; UnparsableRecord says why not."""
    record_id = record.get("id")
    if record_id in (None, ""):
        raise UnparsableRecord("the record has no id")
    properties = record.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise UnparsableRecord(f"properties is a {type(properties).__name__}, not an object")
    archived = bool(record.get("archived"))
    updated_at = _moment_or_none(record, "updatedAt")
    archived_at = _moment_or_none(record, "archivedAt")
    if archived and archived_at and (updated_at is None or archived_at > updated_at):
        # Archiving is the record's latest change; the incremental cursor and merge order follow it.
        updated_at = archived_at
    row: dict[str, Any] = {
        "id": str(record_id),
        "created_at": _moment_or_none(record, "createdAt"),
        "updated_at": updated_at,
        "archived": archived,
        "archived_at": archived_at,
    }
    for name, raw in properties.items():
        property_type = property_types.get(name, "string")
        try:
            row[column_name(name)] = parse_property(property_type, raw)
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise UnparsableRecord(f"property {name} ({property_type}) has value {raw!r}: {exc}") from None
    return row


def flatten_owner(owner: Mapping[str, Any]) -> dict[str, Any]:
    """One owner of GET /crm/v3/owners as a flat row."""
    owner_id = owner.get("id")
    if owner_id in (None, ""):
        raise UnparsableRecord("the owner has no id")
    return {
        "id": str(owner_id),
        "email": owner.get("email"),
        "first_name": owner.get("firstName"),
        "last_name": owner.get("lastName"),
        "user_id": None if owner.get("userId") is None else str(owner["userId"]),
        "teams": owner.get("teams") or [],
        "archived": bool(owner.get("archived")),
        "created_at": _moment_or_none(owner, "createdAt"),
        "updated_at": _moment_or_none(owner, "updatedAt"),
    }


OWNER_COLUMNS = {
    "id": {"data_type": "text", "nullable": False},
    "email": {"data_type": "text", "nullable": True},
    "first_name": {"data_type": "text", "nullable": True},
    "last_name": {"data_type": "text", "nullable": True},
    "user_id": {"data_type": "text", "nullable": True},
    "teams": {"data_type": "json", "nullable": True},
    "archived": {"data_type": "bool", "nullable": True},
    "created_at": {"data_type": "timestamp", "nullable": True},
    "updated_at": {"data_type": "timestamp", "nullable": True},
}

ASSOCIATION_COLUMNS = {
    "from_type": {"data_type": "text", "nullable": False},
    "from_id": {"data_type": "text", "nullable": False},
    "to_type": {"data_type": "text", "nullable": False},
    "to_id": {"data_type": "text", "nullable": False},
    "association_type_id": {"data_type": "bigint", "nullable": False},
    "association_category": {"data_type": "text", "nullable": True},
    "association_label": {"data_type": "text", "nullable": True},
    # Only a tombstone sets it: the row is not kept, and its from_id's old rows go (merge key).
    "is_removed": {"data_type": "bool", "nullable": True, "hard_delete": True},
}


MERGE_COLUMNS = {
    "id": {"data_type": "text", "nullable": False},
    "merged_into_id": {"data_type": "text", "nullable": False},
    "merged_at": {"data_type": "timestamp", "nullable": True},
}


def merged_ids(row: Mapping[str, Any], property_name: str) -> list[dict[str, Any]]:
    """One row per id a record's hs_merged_object_ids names (the losers of its merges), pointing at it."""
    survivor = row["id"]
    named = str(row.get(property_name) or "").replace(",", ";").split(";")
    losers = dict.fromkeys(i.strip() for i in named if i.strip() and i.strip() != survivor)
    return [{"id": loser, "merged_into_id": survivor, "merged_at": row.get("updated_at")} for loser in losers]


def association_tombstone(from_type: str, from_id: str) -> dict[str, Any]:
    """A row that removes every stored association of a record that now has none."""
    return {"from_type": from_type, "from_id": from_id, "to_type": "", "to_id": "", "association_type_id": 0,
            "association_category": None, "association_label": None, "is_removed": True}


def flatten_associations(from_type: str, to_type: str, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One v4 batch-read result ({from, to: [{toObjectId, associationTypes}]}) as one row per type."""
    from_id = (result.get("from") or {}).get("id")
    if from_id in (None, ""):
        raise UnparsableRecord("the association result has no from id")
    rows = []
    for target in result.get("to") or []:
        to_id = target.get("toObjectId")
        if to_id in (None, ""):
            raise UnparsableRecord(f"an association of {from_type} {from_id} has no toObjectId")
        for kind in target.get("associationTypes") or []:
            try:
                type_id = int(kind["typeId"])
            except (KeyError, TypeError, ValueError):
                raise UnparsableRecord(f"association type {kind!r} has no integer typeId") from None
            rows.append({
                "from_type": from_type,
                "from_id": str(from_id),
                "to_type": to_type,
                "to_id": str(to_id),
                "association_type_id": type_id,
                "association_category": kind.get("category"),
                "association_label": kind.get("label"),
                "is_removed": False,
            })
    return rows
