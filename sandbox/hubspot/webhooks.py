"""Webhook delivery as a HubSpot app does it: change events batched, signed (v3) and posted to a target URL.

HubSpot posts a JSON array of up to 100 events, signs method + URL + body + timestamp with the app's client
secret (HMAC-SHA256, base64, header X-HubSpot-Signature-v3 beside X-HubSpot-Request-Timestamp), and
retries a delivery that failed (no connection, a 429 or a 5xx) with attemptNumber raised.
"""

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

MAX_EVENTS_PER_REQUEST = 100
# The singular names HubSpot puts in subscription types.
_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
RETRIED = (429, 500, 502, 503, 504)


@dataclass
class WebhookTarget:
    """Where and how an app's webhooks go: its target URL, client secret and subscribed object types."""

    url: str
    client_secret: str
    object_types: tuple[str, ...] = ("contacts", "companies", "deals")
    app_id: int = 1_234_567
    portal_id: int = 7_654_321
    verify: str | bool = True  # CA bundle to trust for an https target
    max_attempts: int = 5
    first_backoff_s: float = 0.2


@dataclass(frozen=True)
class Delivery:
    """One post: its status (0: no connection), how many events, which attempt."""

    status: int
    events: int
    attempt: int
    body: bytes = field(repr=False, default=b"")


def sign_v3(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature of a request to `url` (a URL without percent-escapes is signed as it is)."""
    text = method.encode() + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()


class WebhookSender:
    """Queues events as the emulator's records change and posts them from a background thread."""

    def __init__(self, target: WebhookTarget, clock: Callable[[], datetime] | None = None) -> None:
        self.target = target
        self.clock = clock or (lambda: datetime.now(UTC))
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)
        self._queue: list[dict[str, Any]] = []
        self._busy = False
        self._stopping = False
        self._changed = threading.Condition()
        self._session = requests.Session()
        self._session.trust_env = False  # the target is given whole; no proxy or CA from the environment
        self._thread = threading.Thread(target=self._run, daemon=True, name="hubspot-webhooks")
        self._thread.start()

    def announce(self, object_type: str, change: str, object_id: str, occurred_at: datetime,
                 **extra: Any) -> None:
        """Queue one event (change: creation, propertyChange, deletion, merge) if the type is subscribed."""
        if object_type not in self.target.object_types or object_type not in _SINGULAR:
            return
        event = {
            "eventId": next(self._ids),
            "subscriptionId": 1000 + list(_SINGULAR).index(object_type),
            "portalId": self.target.portal_id,
            "appId": self.target.app_id,
            "occurredAt": int(occurred_at.timestamp() * 1000),
            "subscriptionType": f"{_SINGULAR[object_type]}.{change}",
            "attemptNumber": 0,
            "objectId": int(object_id) if object_id.isdigit() else object_id,
            "changeSource": "INTEGRATION",
            **extra,
        }
        with self._changed:
            self._queue.append(event)
            self._changed.notify_all()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued event was delivered or given up on; whether that happened in time."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout=10)
        self._session.close()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                batch = self._queue[:MAX_EVENTS_PER_REQUEST]
                del self._queue[:MAX_EVENTS_PER_REQUEST]
                self._busy = True
            try:
                self._deliver(batch)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(self.target.max_attempts):
            body = json.dumps([{**event, "attemptNumber": attempt} for event in batch]).encode()
            stamp = str(int(self.clock().timestamp() * 1000))
            signature = sign_v3(self.target.client_secret, "POST", self.target.url, body, stamp)
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Request-Timestamp": stamp,
                "X-HubSpot-Signature-v3": signature,
            }
            try:
                status = self._session.post(
                    self.target.url, data=body, headers=headers, timeout=10, verify=self.target.verify
                ).status_code
            except requests.RequestException:
                status = 0
            self.deliveries.append(Delivery(status, len(batch), attempt, body))
            if status not in RETRIED and status != 0:
                return
            if self._stopping:
                return
            time.sleep(self.target.first_backoff_s * 2**attempt)
