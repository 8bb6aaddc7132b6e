"""The visual segment builder: a local web page to pick fields and operators, see the live count, save YAML.

The page (builder.html, styled by the vendored Pico CSS in static/) edits everything a segment file can say:
static lists, nested all/any/not groups, field, event, page and score rules. Its fields, families, operators
and value types come from /api/fields (segments.catalogue); errors come back as problems tied to the setting
or rule path they concern (segments.problems); /api/segments lists and opens the files of config/segments.

Run `revloop segments builder` (or `python -m segments.builder`) and open the URL it prints:
http://127.0.0.1:8765/?token=<random, per start>.
Every request must come through a host name of this machine (DNS rebinding guard); the API wants the token
in the X-Revloop-Token header, and saving wants a JSON body from the page's own origin (CSRF guard).
"""

import argparse
import datetime as dt
import hmac
import html
import ipaddress
import json
import os
import re
import secrets
import signal
import sys
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from waitress.server import create_server
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from revloop.config import config_dir
from revloop.config.segments import Segment, SegmentName
from segments.catalogue import OPERATOR_WORDS, families, field_catalogue, rule_kinds, score_names
from segments.compiler import TOUCHPOINTS, compile_segment, profile_columns
from segments.conversions import DEFAULT_KIND, KINDS
from segments.definitions import SegmentError, parse_segment, segments_dir
from segments.preview import open_read_only, preview_item
from segments.problems import explain

PAGE = Path(__file__).with_name("builder.html")
# Pico CSS (MIT, static/pico.LICENSE.md), vendored and inlined into the page: nothing is fetched at run time
STYLE = Path(__file__).with_name("static") / "pico.min.css"
TOKEN_ENV = "REVLOOP_BUILDER_TOKEN"
TOKEN_HEADER = "X-Revloop-Token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_BODY_BYTES = 1024 * 1024
# the page and the API answers are personal data and must not be framed, sniffed, cached or referred
SAFE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


def _refuse(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def host_name(value: str | None) -> str | None:
    """The lower-cased name of a Host header or an Origin ("[::1]:8765" -> "::1"), None when malformed."""
    if not value:
        return None
    try:
        return urlsplit(value if "//" in value else f"//{value}").hostname
    except ValueError:
        return None


class Builder:
    """The builder's WSGI app: the page, the field catalogue, live previews and saving."""

    url_map = Map(
        [
            Rule("/", endpoint="page", methods=["GET"]),
            Rule("/api/fields", endpoint="fields", methods=["GET"]),
            Rule("/api/segments", endpoint="segments", methods=["GET"]),
            Rule("/api/segments/<name>", endpoint="segment", methods=["GET"]),
            Rule("/api/preview", endpoint="preview", methods=["POST"]),
            Rule("/api/save", endpoint="save", methods=["POST"]),
        ]
    )

    def __init__(
        self,
        warehouse: Path | None = None,
        config: Path | None = None,
        token: str | None = None,
        hosts: Iterable[str] = (),
    ):
        """`token`: the one every request must show (default: a new random one, see .token); `hosts`:
        names besides localhost, 127.0.0.1 and ::1 that clients may use in the Host header."""
        self.warehouse = warehouse
        self.folder = segments_dir(config or config_dir())
        self.token = token or secrets.token_urlsafe(32)
        self.hosts = {h.lower() for h in (*LOOPBACK_NAMES, *hosts)}

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        try:
            endpoint, values = self.url_map.bind_to_environ(environ).match()
            response = self._guard(request, endpoint) or getattr(self, endpoint)(request, **values)
        except HTTPException as exc:
            response = _refuse(exc.code or 500, exc.description or exc.name)
        response.headers.update(SAFE_HEADERS)
        return response(environ, start_response)

    def _guard(self, request: Request, endpoint: str) -> Response | None:
        """A refusal for a request from the wrong host, another origin, without the token or not JSON."""
        host = host_name(request.environ.get("HTTP_HOST"))
        if host not in self.hosts:
            # a page on another site that re-points its DNS name at 127.0.0.1 arrives with its own name here
            return _refuse(403, "the Host header is not a name of this builder (DNS rebinding guard)")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.environ['HTTP_HOST']}":
            return _refuse(403, "requests from another origin are refused (the Origin header differs)")
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return _refuse(403, "requests from another site are refused (Sec-Fetch-Site)")
        shown = request.args.get("token") if endpoint == "page" else request.headers.get(TOKEN_HEADER)
        if not shown:
            where = "?token=... in the URL" if endpoint == "page" else f"the {TOKEN_HEADER} header"
            return _refuse(401, f"missing token: open the URL the builder printed when it started ({where})")
        if not hmac.compare_digest(shown.encode(), self.token.encode()):
            return _refuse(401, "wrong token: open the URL the builder printed when it started")
        if request.method == "POST" and request.mimetype != "application/json":
            # a form on another site can post text/plain without a preflight; JSON it cannot
            return _refuse(415, "send the body as application/json")
        return None

    def page(self, request: Request) -> Response:
        """The page, with the token for its API calls and a per-response nonce for its script and style."""
        nonce = secrets.token_urlsafe(16)
        text = (
            PAGE.read_text()
            .replace("{{token}}", html.escape(self.token, quote=True))
            .replace("{{nonce}}", nonce)
            .replace("/*{{style}}*/", STYLE.read_text())
        )
        # the style's icons (select arrows, check marks) are data: SVGs
        policy = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return Response(text, mimetype="text/html", headers={"Content-Security-Policy": policy})

    def fields(self, request: Request) -> Response:
        """What the DSL can express on this warehouse: fields by family with their operators and value
        types, scores, the event names and page paths seen, segment types and families, conversions."""
        con = open_read_only(self.warehouse)
        try:
            columns = profile_columns(con)
            events = [
                row[0]
                for row in con.execute(
                    f"SELECT event_name FROM {TOUCHPOINTS} WHERE event_name IS NOT NULL "
                    "GROUP BY 1 ORDER BY count(*) DESC LIMIT 50"
                ).fetchall()
            ]
            pages = [
                row[0]
                for row in con.execute(
                    f"SELECT page_path FROM {TOUCHPOINTS} WHERE page_path IS NOT NULL "
                    "GROUP BY 1 ORDER BY count(*) DESC LIMIT 50"
                ).fetchall()
            ]
        finally:
            con.close()
        return _json(
            {
                "fields": field_catalogue(columns),
                "operators": OPERATOR_WORDS,
                "scores": [n for n in score_names() if n in columns],
                "events": events,
                "pages": pages,
                "types": list(typing.get_args(Segment.model_fields["type"].annotation)),
                "families": families(),
                "rule_kinds": rule_kinds(),
                "conversions": list(KINDS),
                "default_conversion": DEFAULT_KIND,
            }
        )

    def segments(self, request: Request) -> Response:
        """The names of the segment files in the config folder."""
        names = sorted(p.stem for p in self.folder.glob("*.yml") if _is_name(p.stem))
        return _json({"segments": names})

    def segment(self, request: Request, name: str) -> Response:
        """One segment file of the config folder as JSON (dates as YYYY-MM-DD), to edit in the page."""
        path = self.folder / f"{name}.yml"
        if not _is_name(name) or not path.is_file():
            return _refuse(404, f"no segment {name!r} in {self.folder.name}/")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            return _refuse(400, f"{name}.yml is not valid YAML: fix it in a text editor")
        return _json({"segment": data})

    def _item(self, request: Request):
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("segment"), dict):
            raise SegmentError('send {"segment": {...}} as JSON')
        name = str(data["segment"].get("name") or "unnamed")
        path = self.folder / f"{name}.yml"
        if path.parent != self.folder:
            # the name becomes a file name: it must not climb out of (or replace) the segments folder
            raise SegmentError(f"name: {name!r} is not a segment name (lower-case letters, digits, _)")
        return parse_segment(data["segment"], path), data

    def _problem(self, request: Request, error: SegmentError) -> Response:
        """A 400 whose problems say, in words, which setting or rule each concerns."""
        data = request.get_json(silent=True)
        segment = data.get("segment") if isinstance(data, dict) else None
        name = segment.get("name") if isinstance(segment, dict) else None
        path = self.folder / f"{name or 'unnamed'}.yml"
        problems = explain(segment, str(error), path) if isinstance(segment, dict) else []
        text = "; ".join(f"{p['where']}: {p['message']}" for p in problems) or str(error)
        return _json({"error": text, "problems": problems}, 400)

    def preview(self, request: Request) -> Response:
        try:
            item, data = self._item(request)
            conversion = str(data.get("conversion") or DEFAULT_KIND)
            result = preview_item(item, self.warehouse, sample_size=10, conversion=conversion)
        except SegmentError as exc:
            return self._problem(request, exc)
        found = result.suggestions
        return _json(
            {
                "count": result.count,
                "total": result.total_profiles,
                "sample": result.sample,
                "warnings": result.warnings,
                "metric": found.metric if found else None,
                "base": found.base if found else None,
                "suggestions": [
                    {
                        "rule": s.rule,
                        "words": s.words(),
                        "members": s.members,
                        "value": s.value,
                        "lift": s.lift,
                        "text": s.describe(),
                    }
                    for s in (found.items if found else [])
                ],
                "signals": [
                    {"feature": s.feature, "importance": s.importance, "lift": s.lift, "text": s.describe()}
                    for s in (found.signals if found else [])
                ],
                "note": found.note if found else None,
            }
        )

    def save(self, request: Request) -> Response:
        try:
            item, data = self._item(request)
            con = open_read_only(self.warehouse)
            try:
                compile_segment(item, profile_columns(con), dt.datetime.now(dt.UTC))
            finally:
                con.close()
        except SegmentError as exc:
            return self._problem(request, exc)
        if item.path.exists() and not data.get("overwrite"):
            return _json({"error": f"{item.path} exists; tick overwrite to replace it"}, 409)
        text = yaml.safe_dump(_as_yaml(data["segment"]), sort_keys=False, allow_unicode=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        item.path.write_text(text)
        return _json({"path": str(item.path), "yaml": text})


def _is_name(name: str) -> bool:
    """Whether a file stem is a segment name (so it cannot climb out of the folder)."""
    pattern = typing.get_args(SegmentName)[1].pattern
    return re.fullmatch(pattern, name) is not None


def _as_yaml(segment: dict[str, Any]) -> dict[str, Any]:
    """The definition as the YAML holds it: review_by a date, not a quoted string."""
    review_by = segment.get("review_by")
    if isinstance(review_by, str):
        try:
            return {**segment, "review_by": dt.date.fromisoformat(review_by)}
        except ValueError:
            pass
    return segment


def is_loopback(host: str) -> bool:
    """Whether an address to bind to is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The builder's options (python -m segments.builder and `revloop segments builder` share them)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    parser.add_argument("--config-dir", type=Path, help="config folder (default REVLOOP_CONFIG_DIR)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help=f"listen on a non-loopback address (needs the token in {TOKEN_ENV} and --allow-host)",
    )
    parser.add_argument(
        "--allow-host", action="append", default=[], help="a host name clients use to reach it (repeatable)"
    )


def main(argv: list[str] | None = None) -> int:
    """Serve the builder (127.0.0.1 unless told otherwise) and print the URL that carries its token."""
    parser = argparse.ArgumentParser(prog="python -m segments.builder", description=__doc__)
    add_arguments(parser)
    return serve(parser.parse_args(argv))


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or Ctrl-C; 2 when asked to listen where it must not."""
    fixed_token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not (args.allow_remote and fixed_token):
        print(
            f"segment builder: refusing to listen on {args.host}: it serves personal data. Use 127.0.0.1, or "
            f"pass --allow-remote and set {TOKEN_ENV} to a long random token.",
            file=sys.stderr,
        )
        return 2
    hosts = [*args.allow_host, *([] if is_loopback(args.host) else [args.host])]
    app = Builder(args.warehouse, args.config_dir, token=fixed_token, hosts=hosts)
    server = create_server(
        app,
        host=args.host,
        port=args.port,
        threads=4,
        channel_timeout=30,
        max_request_body_size=MAX_BODY_BYTES + 1,  # refused from Content-Length, before it is read
        ident="revloop",
    )
    shown = f"<{TOKEN_ENV}>" if fixed_token else app.token
    name = "127.0.0.1" if is_loopback(args.host) else args.host
    print(f"segment builder on http://{name}:{server.effective_port}/?token={shown}", flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        # stop listening and let the worker threads go (waitress waits at most 5 s for a running preview)
        server.close()
    return 0


def _stop(signum, frame) -> None:
    """SIGTERM: leave the serving loop like Ctrl-C does, so that main closes the server."""
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
