"""What a handoff carries to sales: the enriched profile, the interaction log, the score breakdown and the
marketing touchpoints, as JSON for marts.lead_handoffs and as plain text and HTML for tasks and e-mails."""

import json
from collections.abc import Iterator
from html import escape
from typing import Any

import duckdb
import pyarrow as pa

from revloop.warehouse import fetch_dicts

# the columns of a touch that say when and what; every other non-empty column is one of its properties
TOUCH_KEYS = ("occurred_at", "channel", "event_name")
TOUCH_SKIP = {"profile_id", "touchpoint_id", "n", *TOUCH_KEYS}
MARKETING_CHANNELS = ("email", "ads", "social", "offline")
LOG_TABLE = "marts.touchpoints"
_JSON_TYPES = frozenset({str, int, float, bool})  # values JSON takes as they are


def payload_chunks(
    con: duckdb.DuckDBPyConnection, profile_ids: list[str], log_limit: int = 50, chunk_size: int = 5000
) -> Iterator[dict[str, dict[str, Any]]]:
    """The payload of each profile (JSON-able values), chunk_size profiles per dict yielded.

    profile: every column of marts.customer_profiles; interaction_log: the log_limit most recent touches
    (time, channel, event, properties) with the total; score_breakdown: every lead score factor;
    marketing_touchpoints: every marketing campaign / channel that touched the person, with its touches.
    marts.touchpoints is read once for every profile (into temp tables, dropped after the last chunk), not
    once per chunk.
    """
    if not profile_ids:
        return
    con.register("handoff_due", pa.table({"profile_id": profile_ids}))
    try:
        channels = ", ".join(f"'{c}'" for c in MARKETING_CHANNELS)
        con.execute(
            "create or replace temp table handoff_log as select * from ("
            " select t.*, row_number() over (partition by profile_id order by occurred_at desc) n"
            " from marts.touchpoints t join handoff_due using (profile_id)) where n <= ?",
            [log_limit],
        )
        con.execute(
            "create or replace temp table handoff_touch_counts as select profile_id, count(*) as total"
            " from marts.touchpoints join handoff_due using (profile_id) group by profile_id"
        )
        con.execute(
            "create or replace temp table handoff_marketing as"
            " select profile_id, channel, coalesce(campaign, '') as campaign, count(*) as touch_count,"
            " min(occurred_at) as first_at, max(occurred_at) as last_at,"
            " string_agg(distinct event_name, ', ' order by event_name) as events"
            " from marts.touchpoints join handoff_due using (profile_id)"
            f" where channel in ({channels}) or campaign is not null"
            " group by profile_id, channel, coalesce(campaign, '')"
        )
        for start in range(0, len(profile_ids), chunk_size):
            yield _chunk_payloads(con, profile_ids[start : start + chunk_size])
    finally:
        con.unregister("handoff_due")
        for table in ("handoff_log", "handoff_touch_counts", "handoff_marketing"):
            con.execute(f"drop table if exists temp.{table}")


def _chunk_payloads(con: duckdb.DuckDBPyConnection, profile_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The payloads of profile_ids from the marts and payload_chunks' temp tables."""
    con.register("handoff_ids", pa.table({"profile_id": profile_ids}))
    try:
        profiles = fetch_dicts(
            con, "select p.* from marts.customer_profiles p join handoff_ids using (profile_id)", []
        )
        log = fetch_dicts(
            con,
            "select l.* from handoff_log l join handoff_ids using (profile_id)"
            " order by profile_id, occurred_at desc",
            [],
        )
        counted = "select profile_id, total from handoff_touch_counts join handoff_ids using (profile_id)"
        totals = dict(con.execute(counted).fetchall())
        factors = fetch_dicts(
            con,
            "select profile_id, factor, points from marts.lead_score_factors join handoff_ids "
            "using (profile_id) order by profile_id, abs(points) desc, factor",
            [],
        )
        marketing = fetch_dicts(
            con,
            "select m.* from handoff_marketing m join handoff_ids using (profile_id)"
            " order by profile_id, last_at desc",
            [],
        )
    finally:
        con.unregister("handoff_ids")
    payloads: dict[str, dict[str, Any]] = {
        p["profile_id"]: {
            "profile": {k: _plain(v) for k, v in p.items()},  # every column, empty ones too
            "interaction_log": [],
            "interaction_count": totals.get(p["profile_id"], 0),
            "interaction_log_table": LOG_TABLE,
            "score_breakdown": [],
            "marketing_touchpoints": [],
        }
        for p in profiles
    }
    for row in log:
        if row["profile_id"] in payloads:
            touch = {k: _plain(row.get(k)) for k in TOUCH_KEYS}
            touch["properties"] = {
                k: _plain(v) for k, v in row.items() if k not in TOUCH_SKIP and v is not None and v != ""
            }
            payloads[row["profile_id"]]["interaction_log"].append(touch)
    for key, rows in (("score_breakdown", factors), ("marketing_touchpoints", marketing)):
        for row in rows:
            if row["profile_id"] in payloads:
                payloads[row["profile_id"]][key].append(
                    {k: _plain(v) for k, v in row.items() if k != "profile_id"}
                )
    return payloads


def _plain(value: Any) -> Any:
    if value is None or type(value) in _JSON_TYPES:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return float(value) if hasattr(value, "__float__") else str(value)


def _name(profile: dict[str, Any]) -> str:
    name = " ".join(str(profile.get(k) or "") for k in ("first_name", "last_name")).strip()
    return name or str(profile.get("email") or "")


def _shown(value: Any) -> Any:
    return "-" if value is None or value == "" else value


def _props(touch: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (touch.get("properties") or {}).items())


def _log_note(payload: dict[str, Any], limit: int) -> str:
    shown = min(len(payload.get("interaction_log", [])), limit)
    total = payload.get("interaction_count", shown)
    who = payload.get("profile", {}).get("profile_id", "")
    return (
        f"{shown} most recent of {total} interactions (at most {limit} shown); the whole log: "
        f"select * from {payload.get('interaction_log_table', LOG_TABLE)} where profile_id = '{who}' "
        "order by occurred_at desc"
    )


def _campaign(t: dict[str, Any]) -> str:
    return f"{t['channel']}{' / ' + t['campaign'] if t.get('campaign') else ''}"


def render(payload: dict[str, Any], trigger_detail: str, limit: int = 50) -> str:
    """The payload as plain text for a task body or an e-mail's text part."""
    profile = payload.get("profile", {})
    lines = [f"Lead: {_name(profile)} <{profile.get('email', '')}>", f"Why now: {trigger_detail}", ""]
    lines += ["Profile:"] + [f"  {k}: {_shown(v)}" for k, v in profile.items()]
    lines += ["", "Lead score breakdown:"]
    lines += [f"  {f['factor']}: {f['points']:+g}" for f in payload.get("score_breakdown", [])] or ["  none"]
    lines += ["", "Marketing touchpoints (latest first):"]
    lines += [
        f"  {_campaign(t)}: {t['touch_count']} touches ({t['events']}), {t['first_at']} to {t['last_at']}"
        for t in payload.get("marketing_touchpoints", [])
    ] or ["  none"]
    lines += ["", f"Interaction log: {_log_note(payload, limit)}"]
    lines += [
        f"  {t['occurred_at']} {t['channel']}: {t['event_name'] or ''} {_props(t)}".rstrip()
        for t in payload.get("interaction_log", [])[:limit]
    ] or ["  none"]
    return "\n".join(lines)


# cell and row separators of a table escaped as one text (escape leaves them as they are); a value holding
# one makes the table take the cell-by-cell path
_CELL, _ROW = "\x1f", "\x1e"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th align='left'>{escape(h)}</th>" for h in headers)
    return f"<table border='1' cellpadding='4' cellspacing='0'>\n<tr>{head}</tr>{_cells(rows)}\n</table>"


def _cells(rows: list[list[Any]]) -> str:
    """The table's rows, every value escaped: in one call over the whole table (one call per value took most
    of a large run's rendering), or value by value when a value holds a separator."""
    if not rows:
        return ""
    text = _ROW.join(_CELL.join(map(str, row)) for row in rows)
    if text.count(_CELL) + text.count(_ROW) == sum(map(len, rows)) - 1:
        body = escape(text).replace(_CELL, "</td><td>").replace(_ROW, "</td></tr>\n<tr><td>")
        return f"\n<tr><td>{body}</td></tr>"
    return "".join("\n<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)


def html_sections(payload: dict[str, Any], trigger_detail: str, limit: int = 50) -> str:
    """The payload as HTML (every value escaped), without the page's wrapping: one rendering serves every
    e-mail about a handoff, each with its own intro (html_page)."""
    profile = payload.get("profile", {})
    parts = [
        f"<h2>{escape(_name(profile))} &lt;{escape(str(profile.get('email', '')))}&gt;</h2>",
        f"<p><b>Why now:</b> {escape(trigger_detail)}</p>",
        "<h3>Profile</h3>",
        _table(["field", "value"], [[k, _shown(v)] for k, v in profile.items()]),
        "<h3>Lead score breakdown</h3>",
        _table(
            ["factor", "points"],
            [[f["factor"], f"{f['points']:+g}"] for f in payload.get("score_breakdown", [])],
        ),
        "<h3>Marketing touchpoints</h3>",
        _table(
            ["channel / campaign", "touches", "events", "first", "last"],
            [
                [_campaign(t), t["touch_count"], t["events"], t["first_at"], t["last_at"]]
                for t in payload.get("marketing_touchpoints", [])
            ],
        ),
        "<h3>Interaction log</h3>",
        f"<p>{escape(_log_note(payload, limit))}</p>",
        _table(
            ["time", "channel", "event", "properties"],
            [
                [t["occurred_at"], t["channel"], t["event_name"] or "", _props(t)]
                for t in payload.get("interaction_log", [])[:limit]
            ],
        ),
    ]
    # a line per element and table row: an e-mail carries the page as it is, in lines under SMTP's limit
    return "\n".join(parts)


def html_page(sections: str, intro: str = "") -> str:
    """An e-mail's HTML part: the intro (escaped), then the sections."""
    lead = f"<p>{escape(intro)}</p>\n" if intro else ""
    return f"<html><body>\n{lead}{sections}\n</body></html>"


def render_html(payload: dict[str, Any], trigger_detail: str, limit: int = 50, intro: str = "") -> str:
    """The payload as the HTML part of an e-mail (every value escaped)."""
    return html_page(html_sections(payload, trigger_detail, limit), intro)


def summary(payload: dict[str, Any]) -> str:
    """Compact JSON of the payload for marts.lead_handoffs."""
    return json.dumps(payload, sort_keys=True, default=str)
