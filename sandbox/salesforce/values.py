"""Field values as Salesforce types them: JSON in, Python values in the store, JSON out."""

import re
from datetime import UTC, date, datetime, timedelta, timezone

from sandbox.salesforce.errors import SalesforceError
from sandbox.salesforce.schema import SfField

# multipicklist: the chosen values, ";"-separated
TEXT_TYPES = frozenset(
    {"id", "reference", "string", "email", "phone", "url", "picklist", "multipicklist", "textarea"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent"})

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def truncate_ms(moment: datetime) -> datetime:
    """moment in UTC at millisecond precision, as Salesforce stores datetimes."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 datetime (Z, +hh:mm or +hhmm offsets, optional millis); naive means UTC."""
    match = _DATETIME.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a datetime: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
    )
    return truncate_ms(moment)


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a date: {text!r}")
    return date(*(int(part) for part in match.groups()))


def format_datetime(moment: datetime) -> str:
    """Salesforce's JSON rendering of a datetime: 2024-05-01T12:34:56.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def to_json(value: object) -> object:
    """A stored value as Salesforce renders it in JSON."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parser_error(field: SfField, value: object) -> SalesforceError:
    token = {
        bool: "VALUE_TRUE" if value else "VALUE_FALSE",
        str: "VALUE_STRING",
        list: "START_ARRAY",
        dict: "START_OBJECT",
        int: "VALUE_NUMBER_INT",
        float: "VALUE_NUMBER_FLOAT",
    }.get(type(value), "VALUE")
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {field.type} from {token} value {value} "
        f"or request may be missing a required field ({field.name})",
        [field.name],
    )


def coerce(field: SfField, value: object) -> object:
    """The stored form of a JSON value for field; JSON_PARSER_ERROR when the JSON type cannot hold it."""
    if value is None:
        return None
    kind = field.type
    if kind in TEXT_TYPES:
        if value == "":
            return None  # Salesforce stores an empty text value as null
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value) if not isinstance(value, str) else value
    elif kind in NUMBER_TYPES or kind == "int":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is not None and kind != "int":
            return number
        if number is not None and number.is_integer():
            return int(number)
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return parse_date(value[:10]) if "T" in value else parse_date(value)
            except ValueError:
                pass
    elif kind == "datetime":
        if isinstance(value, datetime):
            return truncate_ms(value if value.tzinfo else value.replace(tzinfo=UTC))
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                pass
    raise _parser_error(field, value)
