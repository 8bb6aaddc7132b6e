"""Turn a Segment HTTP Tracking API request body into the message lines written to disk, or say why not."""

import json
import queue
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from ingestion.events.messages import connect, lines_table, parse_messages

# The type each single-message endpoint implies; analytics.js posts to the one-letter forms.
ENDPOINT_TYPES = {
    "track": "track",
    "identify": "identify",
    "page": "page",
    "screen": "screen",
    "group": "group",
    "alias": "alias",
    "t": "track",
    "i": "identify",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
}
BATCH_ENDPOINTS = ("batch", "import", "b")
# Keys of the batch envelope applied to each message that does not set its own.
ENVELOPE_DEFAULTS = ("context", "integrations")


@dataclass(frozen=True)
class Problem:
    """Why a request, or one message of it (`index`), was refused."""

    reason: str
    index: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.reason} if self.index is None else {"index": self.index, "reason": self.reason}


class RequestRefused(Exception):
    """A request answered with 400: nothing of it is written."""

    def __init__(self, code: str, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.reason for p in problems))
        self.code = code
        self.problems = problems


def iso(moment: datetime) -> str:
    """An ISO 8601 UTC timestamp with milliseconds, as Segment writes them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body_messages(endpoint: str, body: Any, max_batch_messages: int) -> tuple[list[Any], dict[str, Any]]:
    """The messages of a parsed body and the envelope they share (sentAt, context, integrations)."""
    if not isinstance(body, dict):
        raise RequestRefused("invalid_request", [Problem("the body is not a JSON object")])
    if endpoint not in BATCH_ENDPOINTS:
        return [{**body, "type": ENDPOINT_TYPES[endpoint]}], {}
    batch = body.get("batch")
    if not isinstance(batch, list) or not batch:
        raise RequestRefused("invalid_request", [Problem("batch must be a non-empty array of messages")])
    if len(batch) > max_batch_messages:
        reason = f"batch of {len(batch)} messages exceeds the limit of {max_batch_messages}"
        raise RequestRefused("payload_too_large", [Problem(reason)])
    envelope = {key: body[key] for key in ("sentAt", *ENVELOPE_DEFAULTS) if key in body}
    return batch, envelope


def complete(
    message: Any, envelope: dict[str, Any], received_at: datetime, accept_language: str | None = None
) -> Any:
    """The message as stored: Segment's server-side fields filled in, the write key taken out, and the
    request's Accept-Language language kept as context.accept_language unless the sender set one."""
    if not isinstance(message, dict):
        return message  # left for the validation to name what it is
    stored = {key: value for key, value in message.items() if key != "writeKey"}
    for key in ENVELOPE_DEFAULTS:
        if key in envelope and key not in stored:
            stored[key] = envelope[key]
    if accept_language is not None:
        context = stored.get("context", {})
        # a context that is not an object is left for the validation to name
        if isinstance(context, dict) and "accept_language" not in context:
            stored["context"] = {**context, "accept_language": accept_language}
    received = iso(received_at)
    # Segment generates a messageId when the sender has none, and dates a message without a timestamp
    # by its arrival; receivedAt is always the server's.
    if not stored.get("messageId"):
        stored["messageId"] = f"api-{uuid.uuid4()}"
    if not stored.get("timestamp"):
        stored["timestamp"] = received
    if not stored.get("sentAt") and envelope.get("sentAt"):
        stored["sentAt"] = envelope["sentAt"]
    stored["receivedAt"] = received
    return stored


def encode(message: Any) -> bytes:
    """One JSON line, UTF-8, without its newline."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


class Validator:
    """Judges lines with the events ingestion's own Segment Spec checks; safe to share between threads."""

    def __init__(self) -> None:
        # A connection serves one request at a time; werkzeug starts a thread per request, so a pool.
        self._idle: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()

    def problems(self, lines: list[bytes]) -> list[Problem]:
        """Why each refused line (by index) would be rejected by ingestion; empty when all are valid."""
        try:
            con = self._idle.get_nowait()
        except queue.Empty:
            con = connect()
        try:
            texts = pa.array([line.decode() for line in lines], pa.string())
            parsed = parse_messages(con, lines_table(0, texts), "collector", "collector")
            # The ingestion remembers ids to drop repeats within a run; each request is judged alone.
            con.execute("DELETE FROM seen_message_ids")
        except BaseException:
            con.close()
            raise
        self._idle.put(con)
        return [Problem(r.reason, r.line_no) for r in parsed.rejected]


@dataclass(frozen=True)
class Prepared:
    """What a request gives: the lines to append and the messages refused, each with its reason."""

    lines: list[bytes]
    refused: list[Problem]


def prepare(
    endpoint: str,
    body: Any,
    received_at: datetime,
    validator: Validator,
    max_message_bytes: int,
    max_batch_messages: int,
    accept_language: str | None = None,
) -> Prepared:
    """The lines to append for a request body; RequestRefused when no message of it can be kept.

    `accept_language` (the request header's preferred language) is kept on each message (see complete).

    As Segment does, one bad message of a batch does not cost the others: they are kept and the bad
    ones are named in the answer.
    """
    messages, envelope = body_messages(endpoint, body, max_batch_messages)
    refused = [
        Problem(f"message of {size} bytes exceeds the limit of {max_message_bytes}", index)
        for index, size in enumerate(len(encode(m)) for m in messages)
        if size > max_message_bytes
    ]
    oversized = {problem.index for problem in refused}
    candidates = [
        (index, encode(complete(m, envelope, received_at, accept_language)))
        for index, m in enumerate(messages)
        if index not in oversized
    ]
    problems = validator.problems([line for _, line in candidates]) if candidates else []
    # the validator numbers the lines it was given; map them back to the request's indices
    refused += [Problem(p.reason, candidates[p.index][0]) for p in problems]
    invalid = {problem.index for problem in refused}
    lines = [line for index, line in candidates if index not in invalid]
    if not lines:
        code = "payload_too_large" if oversized and len(oversized) == len(invalid) else "invalid_message"
        raise RequestRefused(code, sorted(refused, key=lambda p: p.index))
    return Prepared(lines, sorted(refused, key=lambda p: p.index))
