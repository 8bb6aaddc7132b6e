"""POST /webhooks/hubspot: HubSpot's signed change events, verified and kept in the webhook spool.

The change sensor reads the spool and starts the same run its poll would, without waiting for the poll.
Nothing of a refused request is kept; a log line names the reason, never the secret or the body.
"""

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.wrappers import Request, Response

from collector.messages import Problem
from ingestion.webhooks.batch import BatchRefused, parse_batch
from ingestion.webhooks.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureRejected, verify_v3
from ingestion.webhooks.spool import WebhookSpool

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/webhooks/hubspot"


@dataclass
class HubSpotWebhooks:
    """The receiver: the app's client secret (None: off), the spool, and the URL HubSpot calls."""

    secret: str | None
    secret_env: str
    spool: WebhookSpool
    # the target URL configured in the HubSpot app, when a proxy makes it differ from what this server sees
    public_url: str | None
    max_bytes: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def signed_uri(self, request: Request) -> str:
        """The URL HubSpot signed: the configured public URL or the one this request reached, with query."""
        raw = request.environ.get("REQUEST_URI") or request.full_path.rstrip("?")
        if self.public_url:
            query = raw.partition("?")[2]
            return self.public_url + (f"?{query}" if query else "")
        return f"{request.scheme}://{request.host}{raw}"

    def receive(self, request: Request, error: Callable[..., Response]) -> Response:
        """Verify, parse and spool one delivery; `error` builds the collector's error answers."""
        if not self.secret:
            problem = Problem(f"HubSpot webhooks are off: set {self.secret_env} to the app's client secret")
            return error(503, "not_configured", [problem])
        if request.content_length is not None and request.content_length > self.max_bytes:
            return error(413, "payload_too_large", [Problem(f"request body exceeds {self.max_bytes} bytes")])
        body = request.stream.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            return error(413, "payload_too_large", [Problem(f"request body exceeds {self.max_bytes} bytes")])
        now_ms = int(self.clock().timestamp() * 1000)
        try:
            verify_v3(
                self.secret, request.method, self.signed_uri(request), body,
                request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), now_ms,
            )
        except SignatureRejected as refused:
            log.warning("HubSpot webhook refused: %s", refused)
            return error(401, "unauthorized", [Problem(str(refused))])
        try:
            events = parse_batch(body)
        except BatchRefused as refused:
            log.warning("HubSpot webhook refused: %s", refused)
            return error(400, "invalid_batch", [Problem(str(refused))])
        try:
            new = self.spool.record(events, now_ms)
        except (OSError, sqlite3.Error):
            log.exception("could not keep %d HubSpot webhook events", len(events))
            # HubSpot retries a delivery answered with a 5xx
            return error(500, "storage_error", [Problem("events could not be stored; retry")])
        log.info("HubSpot webhook: %d events, %d new", len(events), new)
        answer = {"success": True, "received": len(events), "new": new}
        return Response(json.dumps(answer), mimetype="application/json")
