"""config/handoff.yml: what hands a lead from marketing to sales, and what happens after."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from revloop.config import cached

Priority = Literal["immediate", "priority", "standard"]
Trigger = Literal["score", "behavior", "time"]
# contract.md, seed 6.2: each trigger's priority; the order is also the strength (strongest first).
PRIORITY_OF: dict[Trigger, Priority] = {"score": "immediate", "behavior": "priority", "time": "standard"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreTrigger(_Strict):
    """Hand off once the lead score reaches threshold."""

    threshold: float = 500


class Behavior(_Strict):
    """One buying behaviour: a track event by name, or a page view under a path prefix."""

    type: Literal["track", "page"]
    event: str | None = None
    path_prefix: str | None = None

    @model_validator(mode="after")
    def _matcher(self) -> "Behavior":
        if self.type == "track" and not self.event:
            raise ValueError("a track behaviour needs event (the track event name)")
        if self.type == "page" and not self.path_prefix:
            raise ValueError("a page behaviour needs path_prefix (e.g. /pricing)")
        return self


def _default_behaviors() -> dict[str, Behavior]:
    return {
        "demo_request": Behavior(type="track", event="Demo Requested"),
        "pricing_page_visit": Behavior(type="page", path_prefix="/pricing"),
        "trial_signup": Behavior(type="track", event="Trial Started"),
    }


class BehaviorTrigger(_Strict):
    """Hand off on a buying behaviour seen within window_days."""

    window_days: float = Field(default=7, gt=0)
    behaviors: dict[str, Behavior] = Field(default_factory=_default_behaviors, min_length=1)


class TimeTrigger(_Strict):
    """Hand off after nurturing_days in nurturing without a handoff, engaged or not.

    A lead in nurturing longer than stale_after_days is reported (activation.handoff_stale_leads), not
    handed off: a first install does not send sales a burst of leads nobody looked at for months.
    """

    nurturing_days: float = Field(default=14, gt=0)
    stale_after_days: float = Field(default=180, gt=0)

    @model_validator(mode="after")
    def _stale_after_due(self) -> "TimeTrigger":
        if self.stale_after_days <= self.nurturing_days:
            raise ValueError("stale_after_days must be more than nurturing_days")
        return self


class Triggers(_Strict):
    score: ScoreTrigger = Field(default_factory=ScoreTrigger)
    behavior: BehaviorTrigger = Field(default_factory=BehaviorTrigger)
    time: TimeTrigger = Field(default_factory=TimeTrigger)


class CrmStates(_Strict):
    """CRM lead statuses that mean sales accepted the lead, or sent it back to marketing."""

    accepted: list[str] = Field(default_factory=list)
    recycled: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> "CrmStates":
        both = set(self.accepted) & set(self.recycled)
        if both:
            raise ValueError(f"statuses both accepted and recycled: {sorted(both)}")
        return self


def _default_states() -> dict[str, CrmStates]:
    return {
        "salesforce": CrmStates(
            accepted=["Working - Contacted", "Qualified", "Closed - Converted"],
            recycled=["Closed - Not Converted", "Unqualified"],
        ),
        "hubspot": CrmStates(
            accepted=["IN_PROGRESS", "CONNECTED", "OPEN_DEAL"], recycled=["UNQUALIFIED", "BAD_TIMING"]
        ),
    }


class TaskSettings(_Strict):
    """The follow-up task: days from handoff to due date, per priority."""

    due_days: dict[Priority, int] = Field(
        default_factory=lambda: {"immediate": 0, "priority": 1, "standard": 3}
    )

    @model_validator(mode="after")
    def _every_priority(self) -> "TaskSettings":
        missing = sorted(set(PRIORITY_OF.values()) - set(self.due_days))
        if missing:
            raise ValueError(f"due_days lacks {missing}")
        if any(days < 0 for days in self.due_days.values()):
            raise ValueError("due_days must not be negative")
        return self


class Notifications(_Strict):
    """Who hears of priority handoffs, how failed sends are retried, how much interaction log a mail shows."""

    team_alert_to: list[str] = Field(default_factory=list)
    retry_first_minutes: float = Field(default=5, gt=0)
    retry_max_hours: float = Field(default=6, gt=0)
    interaction_log_limit: int = Field(default=50, ge=1)
    # bulk sending: messages sent over one SMTP connection, and connections open at once
    messages_per_connection: int = Field(default=100, ge=1)
    parallel_senders: int = Field(default=2, ge=1, le=32)
    # a rep with at least this many new handoffs in one run gets one digest e-mail listing them (None: off)
    digest_min_handoffs: int | None = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _addresses(self) -> "Notifications":
        bad = [a for a in self.team_alert_to if "@" not in a]
        if bad:
            raise ValueError(f"team_alert_to holds non-addresses: {bad}")
        return self


class Reminders(_Strict):
    after_days: float = Field(default=2, gt=0)
    max_reminders: int = Field(default=2, ge=0)


def _default_nurturing() -> dict[str, list[str]]:
    return {"salesforce": ["Open - Not Contacted"], "hubspot": ["NEW", "OPEN"]}


class HandoffConfig(_Strict):
    """The whole of config/handoff.yml."""

    # CRM lead statuses under which marketing still owns a record (no status counts too, and so do the
    # crm_states recycled ones): the time trigger counts from the record's creation or its (re-)entry here
    nurturing_statuses: dict[Literal["salesforce", "hubspot"], list[str]] = Field(
        default_factory=_default_nurturing
    )

    triggers: Triggers = Field(default_factory=Triggers)
    eligible_lifecycle_stages: list[str] = Field(
        default_factory=lambda: ["subscriber", "lead", "marketingqualifiedlead", "other"]
    )
    crm_order: list[Literal["salesforce", "hubspot"]] = Field(
        default_factory=lambda: ["salesforce", "hubspot"], min_length=1
    )
    crm_states: dict[Literal["salesforce", "hubspot"], CrmStates] = Field(default_factory=_default_states)
    task: TaskSettings = Field(default_factory=TaskSettings)
    notifications: Notifications = Field(default_factory=Notifications)
    reminders: Reminders = Field(default_factory=Reminders)


def load_handoff_config() -> HandoffConfig:
    """config/handoff.yml, validated (cached per process)."""
    return cached("handoff", HandoffConfig)
