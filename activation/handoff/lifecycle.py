"""The handoff state machine read back from the CRM: handed_off -> accepted, and -> recycled (new cycle)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from revloop.config.handoff import HandoffConfig


@dataclass
class Transitions:
    """Handoff rows whose state changed and the profile states that go with them."""

    handoffs: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)


def read_back(
    open_handoffs: Iterable[Mapping[str, Any]],
    statuses: Mapping[tuple[str, str], str | None],
    config: HandoffConfig,
    as_of: datetime,
) -> Transitions:
    """Move open handoffs on by the CRM's lead status; a status counts only once it differs from handoff time.

    accepted: sales took the lead (it stays with sales). recycled: sales sent it back: the profile returns
    to nurturing in a new cycle, where it can be handed off again.
    """
    out = Transitions()
    for handoff in open_handoffs:
        status = statuses.get((handoff["crm"], handoff["crm_record_id"]))
        if not status or status == handoff.get("status_at_handoff"):
            continue
        states = config.crm_states.get(handoff["crm"])
        if states is None:
            continue
        if status in states.recycled:
            out.handoffs.append({**handoff, "state": "recycled", "closed_at": as_of})
            out.states.append(
                {
                    "profile_id": handoff["profile_id"],
                    "cycle": handoff["cycle"] + 1,
                    "state": "nurturing",
                    "cycle_started_at": as_of,
                    "last_handoff_score": handoff.get("lead_score"),
                }
            )
        elif status in states.accepted and handoff["state"] == "handed_off":
            out.handoffs.append({**handoff, "state": "accepted"})
            out.states.append(
                {
                    "profile_id": handoff["profile_id"],
                    "cycle": handoff["cycle"],
                    "state": "accepted",
                    "cycle_started_at": None,  # filled by the caller from the current state
                    "last_handoff_score": handoff.get("lead_score"),
                }
            )
    return out
