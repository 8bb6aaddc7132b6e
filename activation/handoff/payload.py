"""What a handoff carries to sales: enriched profile, engagement, score breakdown, nurturing touchpoints."""

import json
from typing import Any

import duckdb
import pyarrow as pa

PROFILE_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company_name",
    "job_title",
    "country",
    "industry",
    "lifecycle_stage",
    "lead_score",
    "purchase_likelihood",
    "engagement_potential",
    "engagement_level",
    "top_interest",
    "interests",
    "employee_count",
    "annual_revenue",
    "first_seen_at",
    "last_seen_at",
)
TOP_FACTORS = 10
NURTURING_TOUCHES = 10


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def build_payloads(con: duckdb.DuckDBPyConnection, profile_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The payload of each profile, read from the marts (JSON-able values)."""
    if not profile_ids:
        return {}
    con.register("handoff_ids", pa.table({"profile_id": profile_ids}))
    try:
        columns = ", ".join(f"p.{c}" for c in PROFILE_COLUMNS)
        profiles = _rows(
            con,
            f"select p.profile_id, {columns} from marts.customer_profiles p "
            "join handoff_ids using (profile_id)",
            [],
        )
        engagement = _rows(
            con,
            "select profile_id, channel, touch_count, interaction_count, last_touch_at "
            "from marts.engagement_history join handoff_ids using (profile_id) order by channel",
            [],
        )
        factors = _rows(
            con,
            "select profile_id, factor, points from ("
            " select *, row_number() over (partition by profile_id order by abs(points) desc, factor) n"
            " from marts.lead_score_factors join handoff_ids using (profile_id)) where n <= ?",
            [TOP_FACTORS],
        )
        touches = _rows(
            con,
            "select profile_id, occurred_at, event_name, campaign from ("
            " select *, row_number() over (partition by profile_id order by occurred_at desc) n"
            " from marts.touchpoints join handoff_ids using (profile_id) where channel = 'email')"
            " where n <= ? order by occurred_at desc",
            [NURTURING_TOUCHES],
        )
    finally:
        con.unregister("handoff_ids")
    payloads: dict[str, dict[str, Any]] = {
        p["profile_id"]: {
            "profile": {k: _plain(v) for k, v in p.items() if k != "profile_id" and v is not None},
            "engagement": [],
            "score_breakdown": [],
            "nurturing_touchpoints": [],
        }
        for p in profiles
    }
    for key, rows in (
        ("engagement", engagement),
        ("score_breakdown", factors),
        ("nurturing_touchpoints", touches),
    ):
        for row in rows:
            if row["profile_id"] in payloads:
                payloads[row["profile_id"]][key].append(
                    {k: _plain(v) for k, v in row.items() if k != "profile_id"}
                )
    return payloads


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return float(value) if hasattr(value, "__float__") else str(value)


def render(payload: dict[str, Any], trigger_detail: str) -> str:
    """The payload as plain text for a task body or an e-mail."""
    profile = payload.get("profile", {})
    name = " ".join(str(profile.get(k, "")) for k in ("first_name", "last_name")).strip() or profile.get(
        "email"
    )
    lines = [f"Lead: {name} <{profile.get('email', '')}>", f"Why now: {trigger_detail}", "", "Profile:"]
    lines += [f"  {k}: {v}" for k, v in profile.items()]
    lines += ["", "Engagement by channel:"]
    lines += [
        f"  {e['channel']}: {e['touch_count']} touches, {e['interaction_count']} interactions, "
        f"last {e['last_touch_at']}"
        for e in payload.get("engagement", [])
    ] or ["  none"]
    lines += ["", "Lead score breakdown:"]
    lines += [f"  {f['factor']}: {f['points']:+g}" for f in payload.get("score_breakdown", [])] or ["  none"]
    lines += ["", "Nurturing touchpoints (latest first):"]
    lines += [
        f"  {t['occurred_at']}: {t['event_name']}{' (' + t['campaign'] + ')' if t.get('campaign') else ''}"
        for t in payload.get("nurturing_touchpoints", [])
    ] or ["  none"]
    return "\n".join(lines)


def summary(payload: dict[str, Any]) -> str:
    """Compact JSON of the payload for marts.lead_handoffs."""
    return json.dumps(payload, sort_keys=True, default=str)
