"""Field values between each CRM's wire format and one comparable canonical form, checked for the target."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from revloop.config.sync import Crm, FieldMapping

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RejectedValue(ValueError):
    """A value the target CRM would refuse (wrong format, too long, not in the picklist)."""


def _number(value: Any) -> float:
    try:
        return float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError) as exc:
        raise RejectedValue(f"not a number: {value!r}") from exc


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if text.isdigit():  # HubSpot sends dates as epoch milliseconds at midnight UTC
        return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError as exc:
        raise RejectedValue(f"not a date: {value!r}") from exc


def _datetime(value: Any) -> str:
    moment = value if isinstance(value, datetime) else None
    if moment is None:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise RejectedValue(f"not a date-time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise RejectedValue(f"not a boolean: {value!r}")


def canonical(mapping: FieldMapping, crm: Crm | None, value: Any) -> Any:
    """value as read from crm (None: the warehouse) in the form both sides are compared in; None if empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    match mapping.type:
        case "number":
            return round(_number(value), 6 if mapping.decimals is None else mapping.decimals)
        case "integer":
            number = _number(value)
            if number != int(number):
                raise RejectedValue(f"not a whole number: {value!r}")
            return int(number)
        case "boolean":
            return _boolean(value)
        case "date":
            return _date(value)
        case "datetime":
            return _datetime(value)
        case "email":
            return str(value).strip().lower()
        case "domain":
            host = urlsplit(str(value).strip() if "//" in str(value) else f"//{str(value).strip()}").hostname
            return host.removeprefix("www.") if host else None
        case "picklist" if crm == "hubspot":
            inverse = {hs: sf for sf, hs in mapping.values.items()} | mapping.from_hubspot
            if str(value) not in inverse:
                raise RejectedValue(f"{value!r} maps to no Salesforce value")
            return inverse[str(value)]
        case _:
            return str(value).strip()


def to_target(mapping: FieldMapping, crm: Crm, value: Any) -> Any:
    """A canonical value in the wire format of crm, or RejectedValue if crm would refuse it."""
    if value is None:
        return None
    if mapping.type == "email" and not EMAIL.match(str(value)):
        raise RejectedValue(f"not a valid e-mail address: {value!r}")
    if mapping.type == "picklist":
        if str(value) not in mapping.values:
            raise RejectedValue(f"{value!r} is not a mapped picklist value")
        if crm == "hubspot":
            value = mapping.values[str(value)]
    if mapping.max_length is not None and len(str(value)) > mapping.max_length:
        raise RejectedValue(f"{len(str(value))} characters, the target accepts at most {mapping.max_length}")
    if crm == "salesforce":
        return value
    # HubSpot properties travel as strings; numbers without a spurious ".0"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
