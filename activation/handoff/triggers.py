"""Which profiles are due a handoff, under which trigger: a pure function of signals, state and time."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from revloop.config.handoff import PRIORITY_OF, HandoffConfig, Priority, Trigger


@dataclass(frozen=True)
class Due:
    """A profile due a handoff: the strongest trigger met, its priority and why."""

    profile_id: str
    trigger: Trigger
    priority: Priority
    detail: str
    lead_score: float


def _at(value: datetime | None) -> datetime | None:
    # DuckDB hands back aware timestamps for timestamptz; a naive one is taken as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _nurturing(row: Mapping[str, Any], state: Mapping[str, Any] | None, config: HandoffConfig) -> bool:
    """Marketing still owns the profile: eligible stage, not a customer, not handed off this cycle."""
    if state is not None and state["state"] != "nurturing":
        return False  # handed off, accepted: once per cycle
    stages = {s.lower() for s in config.eligible_lifecycle_stages}
    return not row.get("is_customer") and (row.get("lifecycle_stage") or "").lower() in stages


def nurturing_since(row: Mapping[str, Any], state: Mapping[str, Any] | None) -> datetime | None:
    """When marketing took the lead: its CRM record's creation or first marketing touch (the signal's
    nurturing_started_at), its (re-)entry into a nurturing status (nurturing_entered_at), or its return
    to nurturing after sales recycled a handoff, whichever is later; None while sales works the record."""
    if not row.get("in_nurturing_status", True):
        return None
    returned = _at(state["cycle_started_at"]) if state and state.get("cycle", 1) > 1 else None
    moments = [_at(row.get("nurturing_started_at")), _at(row.get("nurturing_entered_at")), returned]
    return max((m for m in moments if m is not None), default=None)


def _in_time_window(since: datetime, config: HandoffConfig, as_of: datetime) -> bool:
    time = config.triggers.time
    return (
        as_of - timedelta(days=time.stale_after_days) < since <= as_of - timedelta(days=time.nurturing_days)
    )


def stale(
    signals: Iterable[Mapping[str, Any]],
    states: Mapping[str, Mapping[str, Any]],
    config: HandoffConfig,
    as_of: datetime,
) -> list[tuple[str, datetime]]:
    """Profiles in nurturing for more than stale_after_days: (profile, since), reported not handed off."""
    limit = as_of - timedelta(days=config.triggers.time.stale_after_days)
    out = []
    for row in signals:
        state = states.get(row["profile_id"])
        since = nurturing_since(row, state) if _nurturing(row, state, config) else None
        if since is not None and since <= limit:
            out.append((row["profile_id"], since))
    return out


def evaluate(
    signals: Iterable[Mapping[str, Any]],
    behaviors: Mapping[str, list[tuple[str, datetime]]],
    states: Mapping[str, Mapping[str, Any]],
    config: HandoffConfig,
    as_of: datetime,
) -> list[Due]:
    """Every eligible profile meeting a trigger that is not already handed off in its current cycle.

    signals: int_handoff_signals rows; behaviors: per profile (behavior, last occurrence); states:
    activation.handoff_state rows. A profile meeting several triggers is due once, under the strongest.
    """
    triggers = config.triggers
    due = []
    for row in signals:
        profile_id = row["profile_id"]
        state = states.get(profile_id)
        if not _nurturing(row, state, config):
            continue
        cycle_start = _at(state["cycle_started_at"]) if state else None
        score = float(row.get("lead_score") or 0)
        met: dict[Trigger, str] = {}
        # after a recycle the score alone re-triggers only once it rose above the score sales sent back
        last_score = state.get("last_handoff_score") if state else None
        if score >= triggers.score.threshold and (last_score is None or score > last_score):
            met["score"] = f"lead_score {score:g} >= {triggers.score.threshold:g}"
        window_start = as_of - timedelta(days=triggers.behavior.window_days)
        seen = sorted(
            (
                (at, name)
                for name, at in behaviors.get(profile_id, [])
                if name in triggers.behavior.behaviors
                and window_start <= _at(at) <= as_of
                and (cycle_start is None or _at(at) > cycle_start)
            ),
            reverse=True,
        )
        if seen:
            met["behavior"] = ", ".join(f"{name} at {at:%Y-%m-%d %H:%M}" for at, name in seen)
        since = nurturing_since(row, state)
        if since is not None and _in_time_window(since, config, as_of):
            met["time"] = f"in nurturing since {since:%Y-%m-%d}"
        if met:
            strongest = next(t for t in PRIORITY_OF if t in met)
            due.append(Due(profile_id, strongest, PRIORITY_OF[strongest], met[strongest], score))
    return due
