"""HubSpot's timestamp formats: ISO-8601 with milliseconds and Z, and epoch milliseconds."""

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ms(moment: datetime) -> str:
    """A datetime as HubSpot writes it: 2024-05-01T12:00:00.123Z."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def parse_moment(value: str | int | float | datetime) -> datetime:
    """Epoch milliseconds (number or digit string), an ISO string or a datetime, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) or str(value).lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    text = str(value).strip()
    if len(text) == 10:  # a plain date means midnight UTC, as HubSpot's date properties do
        text += "T00:00:00"
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch_ms(value: str | int | float | datetime) -> int:
    """Any accepted moment as epoch milliseconds."""
    return (parse_moment(value) - _EPOCH) // timedelta(milliseconds=1)
