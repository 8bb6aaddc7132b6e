"""The WSGI app: Segment's HTTP Tracking API (/v1/track, /v1/batch, ...), GET /v1/profiles/<key>, HubSpot's
webhooks (POST /webhooks/hubspot) and GET /health."""

import json
import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from collector.auth import basic_auth_user, bearer_token, channel_for, token_matches
from collector.languages import best_language
from collector.messages import BATCH_ENDPOINTS, ENDPOINT_TYPES, Problem, RequestRefused, Validator, prepare
from collector.profiles import NoSnapshot, ProfileStore
from collector.webhooks import WEBHOOK_PATH, HubSpotWebhooks
from collector.writer import Writers
from ingestion.webhooks.spool import WebhookSpool, spool_path
from revloop.config.collector import CollectorConfig, Limits

log = logging.getLogger(__name__)

# analytics.js posts from browsers on other origins (as text/plain, so without a preflight).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=dict(headers or {}), mimetype="application/json")


def error(status: int, code: str, problems: list[Problem], headers: Mapping[str, str] | None = None):
    """Segment's error shape (analytics-python reads code and message), each problem listed."""
    body = {
        "success": False,
        "code": code,
        "message": "; ".join(p.reason for p in problems[:5]) + (" ..." if len(problems) > 5 else ""),
        "errors": [p.as_json() for p in problems],
    }
    return json_response(body, status, headers)


def read_body(request: Request, limit: int) -> bytes:
    """The request body, gunzipped if so encoded; RequestRefused when it is over `limit` bytes.

    Checked against Content-Length before anything is read (the server refuses such bodies too).
    """
    too_large = RequestRefused("payload_too_large", [Problem(f"request body exceeds {limit} bytes")])
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise too_large
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding != "gzip":
        raise RequestRefused("invalid_request", [Problem(f"unsupported Content-Encoding {encoding}")])
    data = gunzip(raw, limit)
    if data is None:
        raise RequestRefused(
            "payload_too_large", [Problem(f"request body exceeds {limit} bytes once decompressed")]
        )
    return data


def gunzip(raw: bytes, limit: int) -> bytes | None:
    """Every member of a gzip stream (RFC 1952 allows several), None once the output would pass `limit`.

    RequestRefused for a stream that is not gzip, is cut short, or has bytes after its last member:
    a body is read whole or refused, never taken in part.
    """
    out = bytearray()
    rest = raw
    while True:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            # Bounded, so that a small compressed body cannot expand into gigabytes.
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise RequestRefused("invalid_request", [Problem(f"body is not valid gzip: {exc}")]) from None
        if len(out) > limit or inflater.unconsumed_tail:
            return None
        if not inflater.eof:
            raise RequestRefused("invalid_request", [Problem("gzip body is truncated")])
        rest = inflater.unused_data
        if not rest:
            return bytes(out)


@dataclass
class Collector:
    """Accepts Segment messages into per-channel files and serves profiles from the snapshot."""

    writers: Writers
    write_keys: Mapping[str, str]  # write key -> channel
    limits: Limits
    profiles: ProfileStore
    profile_token: str | None
    profile_token_env: str
    webhooks: HubSpotWebhooks
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # Only known endpoints match: any other path is a 404, never a 405 (which would say the path exists).
    _collect_names = ", ".join(sorted({*ENDPOINT_TYPES, *BATCH_ENDPOINTS}))
    url_map = Map(
        [
            Rule("/health", endpoint="health", methods=["GET"]),
            Rule(WEBHOOK_PATH, endpoint="hubspot_webhook", methods=["POST"]),
            Rule("/v1/profiles/<path:key>", endpoint="profile", methods=["GET"]),
            Rule(f"/v1/<any({_collect_names}):endpoint>", endpoint="collect", methods=["POST", "OPTIONS"]),
        ]
    )

    def __post_init__(self) -> None:
        self.validator = Validator()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request, **args)
        except NotFound:
            response = error(404, "not_found", [Problem(f"no endpoint {request.method} {request.path}")])
        except HTTPException as exc:
            response = error(exc.code or 500, exc.name.lower().replace(" ", "_"), [Problem(exc.description)])
        return response(environ, start_response)

    def collect(self, request: Request, endpoint: str) -> Response:
        """POST /v1/<track|identify|page|screen|group|alias|batch> (and analytics.js's /v1/t, /v1/b, ...)."""
        if request.method == "OPTIONS":
            return Response(status=204, headers=CORS_HEADERS)
        received_at = self.clock()
        header_key = basic_auth_user(request.headers.get("Authorization"))
        # A key in the header is checked before the body is read; analytics.js sends it in the body.
        if header_key is not None and channel_for(header_key, self.write_keys) is None:
            return self._unauthorized()
        try:
            body = self._parse(request)
            key = header_key or (body.get("writeKey") if isinstance(body, dict) else None)
            channel = channel_for(key if isinstance(key, str) else None, self.write_keys)
            if channel is None:
                return self._unauthorized()
            prepared = prepare(
                endpoint,
                body,
                received_at,
                self.validator,
                self.limits.max_message_bytes,
                self.limits.max_batch_messages,
                best_language(request.headers.get("Accept-Language")),
            )
        except RequestRefused as refused:
            return error(400, refused.code, refused.problems, CORS_HEADERS)
        try:
            self.writers[channel].append(prepared.lines)
        except OSError:
            log.exception("could not write %d %s messages", len(prepared.lines), channel)
            return error(500, "storage_error", [Problem("messages could not be stored; retry")], CORS_HEADERS)
        answer: dict[str, Any] = {"success": True}
        if prepared.refused:
            kept, refused = len(prepared.lines), len(prepared.refused)
            log.warning("%s: kept %d messages, refused %d", channel, kept, refused)
            answer |= {"accepted": len(prepared.lines), "rejected": [p.as_json() for p in prepared.refused]}
        return json_response(answer, headers=CORS_HEADERS)

    def _parse(self, request: Request) -> Any:
        data = read_body(request, self.limits.max_request_bytes)
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestRefused("invalid_json", [Problem(f"body is not valid JSON: {exc}")]) from exc

    def _unauthorized(self) -> Response:
        problem = Problem("missing or unknown write key (HTTP basic auth user, or writeKey in the body)")
        return error(401, "unauthorized", [problem], {**CORS_HEADERS, "WWW-Authenticate": "Basic"})

    def health(self, request: Request) -> Response:
        """GET /health (no token): the server answers, and which parts are on; names, never keys or paths."""
        return json_response({
            "status": "ok",
            "channels": sorted(set(self.write_keys.values())),
            "profile_api": bool(self.profile_token),
            "hubspot_webhooks": bool(self.webhooks.secret),
        }, headers={"Cache-Control": "no-store"})

    def hubspot_webhook(self, request: Request) -> Response:
        """POST /webhooks/hubspot: a signed batch of HubSpot change events into the webhook spool."""
        return self.webhooks.receive(request, error)

    def profile(self, request: Request, key: str) -> Response:
        """GET /v1/profiles/<profile_id or e-mail>: traits, scores and segments from the snapshot."""
        if not self.profile_token:
            problem = Problem(f"the profile API is off: set {self.profile_token_env} to enable it")
            return error(503, "not_configured", [problem])
        if not token_matches(bearer_token(request.headers.get("Authorization")), self.profile_token):
            problem = Problem("missing or wrong bearer token")
            return error(401, "unauthorized", [problem], {"WWW-Authenticate": "Bearer"})
        try:
            profile = self.profiles.find(key)
        except NoSnapshot:
            problem = Problem("no profile snapshot yet: materialise serving/profile_snapshot")
            return error(503, "no_snapshot", [problem], {"Retry-After": "60"})
        if profile is None:
            return error(404, "not_found", [Problem("no profile with this id or e-mail")])
        # Personal data: no cache on the way may keep it.
        return json_response(profile, headers={"Cache-Control": "no-store"})


def create_app(
    config: CollectorConfig, events_dir: Path, snapshot: Path, environ: Mapping[str, str],
    webhook_spool: Path | None = None,
) -> Collector:
    """The collector over `events_dir`, `snapshot` and the webhook spool (default: the warehouse's), with
    keys, token and webhook secret read from `environ`."""
    keys = config.write_keys(environ)
    writers = Writers(
        events_dir,
        sorted(set(keys.values())),
        config.rotation.max_file_bytes,
        config.rotation.max_file_age_seconds,
    )
    return Collector(
        writers=writers,
        write_keys=keys,
        limits=config.limits,
        profiles=ProfileStore(snapshot),
        profile_token=environ.get(config.profile_api.token_env) or None,
        profile_token_env=config.profile_api.token_env,
        webhooks=HubSpotWebhooks(
            secret=environ.get(config.hubspot_webhooks.client_secret_env) or None,
            secret_env=config.hubspot_webhooks.client_secret_env,
            spool=WebhookSpool(webhook_spool or spool_path()),
            public_url=environ.get(config.hubspot_webhooks.public_url_env) or None,
            max_bytes=config.limits.max_request_bytes,
        ),
    )
