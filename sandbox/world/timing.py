"""Timestamps of the world: aware UTC datetimes with the millisecond precision the CRMs keep."""

import random
from datetime import UTC, datetime, timedelta


def default_as_of() -> datetime:
    """Today at 00:00 UTC: the world's 'now' unless a test fixes one."""
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def normalise_as_of(as_of: datetime | None) -> datetime:
    """The given moment as aware UTC (naive means UTC), or the default."""
    if as_of is None:
        return default_as_of()
    return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)


def ms(moment: datetime) -> datetime:
    """The moment truncated to whole milliseconds."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def stamps(low: datetime, high: datetime, as_of: datetime, rng: random.Random) -> tuple[datetime, datetime]:
    """A created time in [low, high] (before as_of) and a last-modified time between it and as_of."""
    latest = as_of - timedelta(minutes=1)
    created = min(latest, low + (max(high, low) - low) * rng.random())
    modified = created if rng.random() < 0.25 else created + (latest - created) * rng.random() ** 2
    return ms(created), ms(modified)


def iso_z(moment: datetime) -> str:
    """ISO 8601 with milliseconds and Z, the most common way event senders write time."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
