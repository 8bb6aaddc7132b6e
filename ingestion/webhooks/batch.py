"""A HubSpot webhook request body: a JSON array of events, each checked, or refused with the reason."""

import json
from dataclasses import dataclass
from typing import Any

# HubSpot names objects in the singular in subscription types; ingestion and the probes use its API names.
OBJECT_TYPES = {"contact": "contacts", "company": "companies", "deal": "deals", "ticket": "tickets"}
# HubSpot sends at most 100 events a request; a little room, then the body is refused as not HubSpot's.
MAX_EVENTS = 1000


class BatchRefused(ValueError):
    """A body that is not a HubSpot webhook batch; the message says what is wrong and where."""


@dataclass(frozen=True)
class WebhookEvent:
    """One change HubSpot reports: what happened (subscription type) to which record, and when."""

    event_id: str
    subscription_type: str  # e.g. contact.propertyChange
    object_type: str  # contacts, companies, deals, ... (the API's name)
    object_id: str
    occurred_at_ms: int
    property_name: str | None = None
    change_source: str | None = None
    portal_id: str | None = None
    attempt_number: int = 0


def _whole(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )


def _event(index: int, item: Any) -> WebhookEvent:
    if not isinstance(item, dict):
        raise BatchRefused(f"event {index} is not an object")
    for key in ("eventId", "objectId", "occurredAt"):
        if not _whole(item.get(key)):
            raise BatchRefused(f"event {index}: {key} must be a whole number, got {item.get(key)!r}")
    kind = item.get("subscriptionType")
    name, _, change = kind.partition(".") if isinstance(kind, str) else ("", "", "")
    if not name or not change:
        raise BatchRefused(f"event {index}: subscriptionType must read <object>.<change>, got {kind!r}")
    attempt = item.get("attemptNumber", 0)
    optional = {key: item.get(key) for key in ("propertyName", "changeSource", "portalId")}
    return WebhookEvent(
        event_id=str(item["eventId"]),
        subscription_type=kind,
        object_type=OBJECT_TYPES.get(name.lower(), name.lower()),
        object_id=str(item["objectId"]),
        occurred_at_ms=int(item["occurredAt"]),
        property_name=None if optional["propertyName"] is None else str(optional["propertyName"]),
        change_source=None if optional["changeSource"] is None else str(optional["changeSource"]),
        portal_id=None if optional["portalId"] is None else str(optional["portalId"]),
        attempt_number=int(attempt) if _whole(attempt) else 0,
    )


def parse_batch(body: bytes) -> list[WebhookEvent]:
    """The events of a webhook body; BatchRefused when it is not a non-empty array of well-formed events.

    The whole body is refused for one bad event: HubSpot signs and sends a batch whole, so a bad event
    means the body is not HubSpot's.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchRefused(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise BatchRefused("body must be a non-empty JSON array of events")
    if len(data) > MAX_EVENTS:
        raise BatchRefused(f"{len(data)} events in one request (at most {MAX_EVENTS})")
    return [_event(index, item) for index, item in enumerate(data)]
