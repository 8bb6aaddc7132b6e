"""The visual segment builder: a local web page to pick fields and operators, see the live count, save YAML.

Run `python -m segments.builder` and open http://127.0.0.1:8765/ (only the local machine can reach it).
"""

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from revloop.config import config_dir
from revloop.config.segments import OPERATORS
from segments.compiler import TOUCHPOINTS, column_kind, compile_segment, operators_for, profile_columns
from segments.conversions import DEFAULT_KIND, KINDS
from segments.definitions import SegmentError, parse_segment, segments_dir
from segments.preview import open_read_only, preview_item

PAGE = Path(__file__).with_name("builder.html")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


class Builder:
    """The builder's WSGI app: the page, the field catalogue, live previews and saving."""

    url_map = Map(
        [
            Rule("/", endpoint="page", methods=["GET"]),
            Rule("/api/fields", endpoint="fields", methods=["GET"]),
            Rule("/api/preview", endpoint="preview", methods=["POST"]),
            Rule("/api/save", endpoint="save", methods=["POST"]),
        ]
    )

    def __init__(self, warehouse: Path | None = None, config: Path | None = None):
        self.warehouse = warehouse
        self.folder = segments_dir(config or config_dir())

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, _ = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request)
        except HTTPException as exc:
            response = exc
        return response(environ, start_response)

    def page(self, request: Request) -> Response:
        return Response(PAGE.read_text(), mimetype="text/html")

    def fields(self, request: Request) -> Response:
        """Profile columns with their operators, the event names seen, the segment types."""
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
        finally:
            con.close()
        return _json(
            {
                "fields": [
                    {
                        "name": name,
                        "kind": column_kind(data_type),
                        "operators": list(operators_for(column_kind(data_type))),
                    }
                    for name, data_type in columns.items()
                ],
                "operators": list(OPERATORS),
                "scores": [
                    n
                    for n in ("lead_score", "churn_risk", "purchase_likelihood", "engagement_potential")
                    if n in columns
                ],
                "events": events,
                "conversions": list(KINDS),
                "default_conversion": DEFAULT_KIND,
            }
        )

    def _item(self, request: Request):
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("segment"), dict):
            raise SegmentError('send {"segment": {...}} as JSON')
        name = str(data["segment"].get("name") or "unnamed")
        return parse_segment(data["segment"], self.folder / f"{name}.yml"), data

    def preview(self, request: Request) -> Response:
        try:
            item, data = self._item(request)
            conversion = str(data.get("conversion") or DEFAULT_KIND)
            result = preview_item(item, self.warehouse, sample_size=10, conversion=conversion)
        except SegmentError as exc:
            return _json({"error": str(exc)}, 400)
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
            return _json({"error": str(exc)}, 400)
        if item.path.exists() and not data.get("overwrite"):
            return _json({"error": f"{item.path} exists; tick overwrite to replace it"}, 409)
        text = yaml.safe_dump(data["segment"], sort_keys=False, allow_unicode=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        item.path.write_text(text)
        return _json({"path": str(item.path), "yaml": text})


def main(argv: list[str] | None = None) -> None:
    """Serve the builder on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m segments.builder", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    parser.add_argument("--config-dir", type=Path, help="config folder (default REVLOOP_CONFIG_DIR)")
    args = parser.parse_args(argv)
    print(f"segment builder on http://127.0.0.1:{args.port}/")
    run_simple("127.0.0.1", args.port, Builder(args.warehouse, args.config_dir))


if __name__ == "__main__":
    main()
