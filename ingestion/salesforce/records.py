"""Turning Salesforce's JSON records into typed rows, and the warehouse column types they load as."""

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from ingestion.quarantine import Rejections
from ingestion.salesforce.settings import PRIMARY_KEY, QUARANTINE_SOURCE

log = logging.getLogger(__name__)


class UnloadableValue(ValueError):
    """A field value that does not parse as the type describe gives for the field."""


def parse_datetime(value: Any) -> datetime:
    """A Salesforce datetime (2024-05-01T09:30:00.000+0000 or another ISO 8601 form with an offset), UTC."""
    # Salesforce writes 2024-05-01T09:30:00.000+0000; fromisoformat reads that and the other ISO spellings.
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError("not an ISO 8601 datetime with an offset")
    return parsed.astimezone(UTC)


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("not an ISO 8601 date")
    return date.fromisoformat(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean, not a number")
    return float(value)


def _int(value: Any) -> int:
    number = _float(value)
    if not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a JSON boolean")
    return value


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("a structure, not a scalar")
    return str(value)


# describe type -> (parser of the JSON value, dlt data type)
_TYPES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "datetime": (parse_datetime, "timestamp"),
    "date": (_date, "date"),
    "double": (_float, "double"),
    "currency": (_float, "double"),
    "percent": (_float, "double"),
    "int": (_int, "bigint"),
    "long": (_int, "bigint"),
    "boolean": (_bool, "bool"),
}
_TEXT = (_text, "text")


def column_hints(types: dict[str, str]) -> dict[str, dict[str, Any]]:
    """dlt column hints for fields of the given describe types (so all-null columns still get a type)."""
    return {
        name: {"data_type": _TYPES.get(sf_type, _TEXT)[1], "nullable": name != PRIMARY_KEY}
        for name, sf_type in types.items()
    }


def typed_record(record: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """The record's selected fields as Python values of their describe types; drops "attributes".

    Raises UnloadableValue naming the first field whose value does not parse.
    """
    row: dict[str, Any] = {}
    for name, sf_type in types.items():
        value = record.get(name)
        if value is None:
            row[name] = None
            continue
        parse = _TYPES.get(sf_type, _TEXT)[0]
        try:
            row[name] = parse(value)
        except (TypeError, ValueError) as exc:
            raise UnloadableValue(f"{name} ({sf_type}) = {value!r}: {exc}") from exc
    return row


def typed_records(
    object_name: str, records: Iterable[dict], types: dict[str, str], rejections: Rejections | None
) -> Iterator[dict[str, Any]]:
    """typed_record of each record; one that does not parse goes to rejections (or the log) instead."""
    for record in records:
        try:
            yield typed_record(record, types)
        except UnloadableValue as exc:
            reason = f"{object_name}: {exc}"
            record_id = record.get(PRIMARY_KEY)
            if rejections is None:
                log.warning("Salesforce %s %s not loaded: %s", object_name, record_id, reason)
            else:
                payload = {key: value for key, value in record.items() if key != "attributes"}
                rejections.add(QUARANTINE_SOURCE, record_id, reason, payload)
