"""One handoff run: read states back, evaluate triggers, assign, set owners, create tasks, notify, remind."""

import json
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.handoff.assignment import Assigner, Lead, rep_from_row
from activation.handoff.crm import TaskRequest, create_tasks, find_tasks, open_tasks, set_owners
from activation.handoff.lifecycle import read_back
from activation.handoff.notify import Mail, deliver
from activation.handoff.payload import build_payloads, render, summary
from activation.handoff.store import HandoffStore
from activation.handoff.triggers import evaluate
from activation.mail import SmtpSettings
from activation.store import ActivationStore
from revloop.config.assignment import AssignmentConfig, load_assignment_config
from revloop.config.handoff import HandoffConfig, load_handoff_config

SIGNALS = "intermediate.int_handoff_signals"
BEHAVIORS = "intermediate.int_handoff_behaviors"
REPS = "intermediate.int_handoff_reps"
STATUSES = "intermediate.int_handoff_crm_statuses"


@dataclass
class HandoffReport:
    """What one handoff run did."""

    run_id: str
    as_of: datetime
    due: int = 0
    handed_off: dict[str, int] = field(default_factory=dict)  # per trigger
    by_crm: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    owners_set: int = 0
    tasks_created: int = 0
    emails: dict[str, int] = field(default_factory=dict)  # per outbox status
    reminders: int = 0
    accepted: int = 0
    recycled: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # per reason
    errors: list[str] = field(default_factory=list)


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def _created_by_sync(store: HandoffStore) -> dict[tuple[str, str], tuple[str, str]]:
    """Person records the sync created, not yet ingested back: (profile, crm) -> (object, record id)."""
    if not _table_exists(store.connection, "activation.sync_log"):
        return {}
    rows = store.rows(
        "select revloop_id, crm, crm_object, record_id from activation.sync_log "
        "where object = 'contact' and operation = 'create' and status in ('created', 'updated') "
        "and record_id is not null order by logged_at"
    )
    return {(r["revloop_id"], r["crm"]): (r["crm_object"], r["record_id"]) for r in rows}


def _record_for(
    signal: Mapping[str, Any], crm: str, created: Mapping[tuple[str, str], tuple[str, str]]
) -> tuple[str, str] | None:
    """The person record a handoff in crm goes to: (object, id)."""
    if crm == "salesforce":
        if signal.get("salesforce_lead_id"):
            return "Lead", signal["salesforce_lead_id"]
        if signal.get("salesforce_contact_id"):
            return "Contact", signal["salesforce_contact_id"]
    elif signal.get("hubspot_contact_id"):
        return "contacts", signal["hubspot_contact_id"]
    return created.get((signal["profile_id"], crm))


def _subject(handoff: Mapping[str, Any], payload: Mapping[str, Any], reminder: int = 0) -> str:
    profile = payload.get("profile", {})
    name = " ".join(str(profile.get(k) or "") for k in ("first_name", "last_name")).strip()
    who = name or profile.get("email") or handoff["profile_id"]
    prefix = f"Reminder {reminder}: follow up" if reminder else "Follow up"
    # the revloop key makes the subject unique per handoff and reminder (HubSpot answers are matched by it)
    return (
        f"{prefix} {who} ({handoff['priority']} handoff, revloop {handoff['profile_id']}/{handoff['cycle']})"
    )


class _Run:
    """The steps of one run over one warehouse connection, sharing its clients, config and report."""

    def __init__(self, con, sf, hs, smtp, as_of, config, assignment):
        self.con, self.sf, self.hs, self.smtp = con, sf, hs, smtp
        self.config, self.assignment = config, assignment
        self.store = HandoffStore(con)
        self.report = HandoffReport(uuid.uuid4().hex, as_of)
        self.as_of = as_of
        self.clients = {"salesforce": sf, "hubspot": hs}

    def statuses(self) -> dict[tuple[str, str], str | None]:
        if not _table_exists(self.con, STATUSES):
            return {}
        rows = self.con.execute(f"select crm, crm_record_id, lead_status from {STATUSES}").fetchall()
        return {(crm, record): status for crm, record, status in rows}

    def read_back(self, statuses) -> None:
        current = self.store.states()
        moved = read_back(self.store.open_handoffs(), statuses, self.config, self.as_of)
        for state in moved.states:
            if state["cycle_started_at"] is None:
                state["cycle_started_at"] = current.get(state["profile_id"], {}).get("cycle_started_at")
        self.store.save(handoffs=moved.handoffs, states=moved.states)
        kinds = Counter(h["state"] for h in moved.handoffs)
        self.report.accepted, self.report.recycled = kinds["accepted"], kinds["recycled"]

    def hand_off(self, statuses) -> None:
        for table in (SIGNALS, BEHAVIORS, REPS):
            if not _table_exists(self.con, table):
                raise RuntimeError(
                    f"{table} is missing: build the dbt models of dbt_project/models/handoff first"
                )
        signals = {s["profile_id"]: s for s in self.store.rows(f"select * from {SIGNALS}")}
        behaviors: dict[str, list[tuple[str, datetime]]] = {}
        for profile_id, behavior, at in self.con.execute(
            f"select profile_id, behavior, last_occurred_at from {BEHAVIORS}"
        ).fetchall():
            behaviors.setdefault(profile_id, []).append((behavior, at))
        states = self.store.states()
        due = evaluate(signals.values(), behaviors, states, self.config, self.as_of)
        self.report.due = len(due)
        if not due:
            return
        created = _created_by_sync(self.store)
        reps = [rep_from_row(r) for r in self.store.rows(f"select * from {REPS}")]
        assigner = Assigner(self.assignment, reps, self.store.round_robin(), self.store.now_sequence())
        payloads = build_payloads(self.con, [d.profile_id for d in due])
        handoffs, new_states = [], []
        skipped: Counter[str] = Counter()
        for item in due:
            signal = signals[item.profile_id]
            target = next(
                (
                    (crm, record)
                    for crm in self.config.crm_order
                    if self.clients[crm] is not None and (record := _record_for(signal, crm, created))
                ),
                None,
            )
            if target is None:
                skipped["no record in a configured CRM yet"] += 1
                continue
            crm, (crm_object, record_id) = target
            products = frozenset(p for p in (signal.get("interested_products") or "").split(",") if p)
            lead = Lead(signal.get("country"), signal.get("industry"), products)
            assignment = assigner.assign(crm, lead)
            if assignment is None:
                skipped[f"no active rep in {crm}"] += 1
                continue
            state = states.get(item.profile_id)
            cycle = state["cycle"] if state else 1
            due_days = self.config.task.due_days[item.priority]
            handoffs.append(
                {
                    "profile_id": item.profile_id,
                    "trigger": item.trigger,
                    "priority": item.priority,
                    "owner_id": assignment.rep.rep_id,
                    "assignment_rule": assignment.rule,
                    "handed_off_at": self.as_of,
                    "crm": crm,
                    "crm_record_id": record_id,
                    "cycle": cycle,
                    "state": "handed_off",
                    "crm_object": crm_object,
                    "owner_email": assignment.rep.email,
                    "assignment_detail": assignment.detail,
                    "trigger_detail": item.detail,
                    "status_at_handoff": statuses.get((crm, record_id)),
                    "lead_score": item.lead_score,
                    "task_due_date": (self.as_of + timedelta(days=due_days)).date(),
                    "reminders_sent": 0,
                    "payload": summary(payloads.get(item.profile_id, {})),
                }
            )
            new_states.append(
                {
                    "profile_id": item.profile_id,
                    "cycle": cycle,
                    "state": "handed_off",
                    "cycle_started_at": state["cycle_started_at"] if state else self.as_of,
                    "last_handoff_score": item.lead_score,
                }
            )
        # the decisions and the pointer are committed before any CRM call: a rerun never decides twice
        self.store.save(handoffs=handoffs, states=new_states)
        for crm in ("salesforce", "hubspot"):
            self.store.save_round_robin(crm, [(rep, seq) for c, rep, seq in assigner.picks if c == crm])
        self.report.handed_off = dict(Counter(h["trigger"] for h in handoffs))
        self.report.by_crm = dict(Counter(h["crm"] for h in handoffs))
        self.report.rules = dict(Counter(h["assignment_rule"] for h in handoffs))
        self.report.skipped = dict(skipped)

    def complete(self) -> None:
        """Owner, task and e-mails of every open handoff still missing them (new ones, or a crashed run's)."""
        pending = [h for h in self.store.open_handoffs() if h["state"] == "handed_off"]
        todo = [h for h in pending if h["owner_set_at"] is None]
        results = set_owners(
            self.sf,
            self.hs,
            [(h["crm"], h["crm_object"], h["crm_record_id"], h["owner_id"], h["profile_id"]) for h in todo],
        )
        ActivationStore(self.con).record(self.report.run_id, "handoff", results)
        outcome = {(r.write.crm, r.write.record_id): r for r in results}
        updated: dict[tuple[str, int], dict[str, Any]] = {}
        for h in todo:
            result = outcome.get((h["crm"], h["crm_record_id"]))
            if result is not None and result.status in ("created", "updated"):
                updated[(h["profile_id"], h["cycle"])] = {**h, "owner_set_at": self.as_of, "last_error": None}
                self.report.owners_set += 1
            elif result is not None:
                updated[(h["profile_id"], h["cycle"])] = {**h, "last_error": f"owner: {result.error}"}
                self.report.errors.append(f"owner of {h['profile_id']} in {h['crm']}: {result.error}")
        self.store.save(handoffs=list(updated.values()))
        pending = [updated.get((h["profile_id"], h["cycle"]), h) for h in pending]

        requests, by_subject = [], {}
        for h in pending:
            if h["task_id"] is None and h["owner_set_at"] is not None:
                payload = json.loads(h["payload"] or "{}")
                request = TaskRequest(
                    h["crm"],
                    h["crm_record_id"],
                    h["owner_id"],
                    _subject(h, payload),
                    render(payload, f"{h['trigger']} trigger: {h['trigger_detail']}"),
                    h["task_due_date"],
                    h["priority"],
                )
                requests.append(request)
                by_subject[request.subject] = h
        # a handoff decided by an earlier run still without a task: that run may have died after creating it
        stale = [r for r in requests if by_subject[r.subject]["handed_off_at"] < self.as_of]
        existing = find_tasks(self.sf, self.hs, stale) if stale else {}
        tasks_done = [{**by_subject[subject], "task_id": task_id} for subject, task_id in existing.items()]
        requests = [r for r in requests if r.subject not in existing]
        for result in create_tasks(self.sf, self.hs, requests):
            h = by_subject[result.request.subject]
            if result.task_id:
                tasks_done.append({**h, "task_id": result.task_id})
                self.report.tasks_created += 1
            else:
                tasks_done.append({**h, "last_error": f"task: {result.error}"})
                self.report.errors.append(f"task of {h['profile_id']}: {result.error}")
        self.store.save(handoffs=tasks_done)
        self.notify()

    def _rep_email(self, h: Mapping[str, Any]) -> list[str]:
        return [h["owner_email"]] if h.get("owner_email") else []

    def notify(self) -> None:
        # e-mails follow the task: the rep is told once the CRM holds what the e-mail points to
        pending = [
            h
            for h in self.store.open_handoffs()
            if h["state"] == "handed_off" and h["notified_at"] is None and h["task_id"] is not None
        ]
        mails = []
        for h in pending:
            payload = json.loads(h["payload"] or "{}")
            body = render(payload, f"{h['trigger']} trigger: {h['trigger_detail']}")
            where = (
                f"{h['crm']} {h['crm_object']} {h['crm_record_id']}, "
                f"task {h['task_id']} due {h['task_due_date']}"
            )
            mails.append(
                Mail(
                    "handoff",
                    h["profile_id"],
                    h["cycle"],
                    self._rep_email(h),
                    _subject(h, payload),
                    f"You have a new {h['priority']} lead ({where}).\n\n{body}",
                )
            )
            if h["priority"] == "priority":
                mails.append(
                    Mail(
                        "team_alert",
                        h["profile_id"],
                        h["cycle"],
                        self.config.notifications.team_alert_to,
                        f"Priority lead alert: {_subject(h, payload)}",
                        f"Assigned to {h['owner_email'] or h['owner_id']} ({where}).\n\n{body}",
                    )
                )
        outbox = deliver(self.smtp, mails, self.as_of)
        notified = [{**h, "notified_at": self.as_of} for h in pending]
        self.store.save(handoffs=notified, outbox=outbox)
        self.report.emails = dict(Counter(r["status"] for r in outbox))

    def remind(self) -> None:
        """A reminder e-mail and task when the follow-up task is still open after after_days."""
        settings = self.config.reminders
        candidates = [
            h
            for h in self.store.open_handoffs()
            if h["state"] == "handed_off"
            and h["task_id"]
            and h["task_closed_at"] is None
            and h["reminders_sent"] < settings.max_reminders
            and self.as_of
            >= (h["last_reminder_at"] or h["handed_off_at"]) + timedelta(days=settings.after_days)
        ]
        if not candidates:
            return
        ids: dict[str, list[str]] = {}
        for h in candidates:
            ids.setdefault(h["crm"], []).append(h["task_id"])
        still_open = open_tasks(self.sf, self.hs, ids)
        closed = [{**h, "task_closed_at": self.as_of} for h in candidates if h["task_id"] not in still_open]
        due = [h for h in candidates if h["task_id"] in still_open]
        requests, mails = [], []
        for h in due:
            payload = json.loads(h["payload"] or "{}")
            number = h["reminders_sent"] + 1
            subject = _subject(h, payload, number)
            body = f"The follow-up task {h['task_id']} is still open.\n\n" + render(
                payload, h["trigger_detail"]
            )
            requests.append(
                TaskRequest(
                    h["crm"],
                    h["crm_record_id"],
                    h["owner_id"],
                    subject,
                    body,
                    self.as_of.date(),
                    h["priority"],
                )
            )
            mails.append(
                Mail(f"reminder_{number}", h["profile_id"], h["cycle"], self._rep_email(h), subject, body)
            )
        created = {r.request.subject: r for r in create_tasks(self.sf, self.hs, requests)}
        for request in requests:
            if created[request.subject].error:
                self.report.errors.append(f"reminder task: {created[request.subject].error}")
        outbox = deliver(self.smtp, mails, self.as_of)
        reminded = [
            {**h, "reminders_sent": h["reminders_sent"] + 1, "last_reminder_at": self.as_of} for h in due
        ]
        self.store.save(handoffs=reminded + closed, outbox=outbox)
        self.report.reminders = len(reminded)
        for row in outbox:
            self.report.emails[row["status"]] = self.report.emails.get(row["status"], 0) + 1


def run_handoffs(
    connection: duckdb.DuckDBPyConnection,
    sf: Salesforce | None,
    hs: HubSpot | None,
    smtp: SmtpSettings | None = None,
    as_of: datetime | None = None,
    config: HandoffConfig | None = None,
    assignment: AssignmentConfig | None = None,
) -> HandoffReport:
    """Hand off every profile a trigger makes due, once per cycle; idempotent (a rerun changes nothing)."""
    as_of = as_of or datetime.now(UTC)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    run = _Run(
        connection,
        sf,
        hs,
        smtp,
        as_of,
        config or load_handoff_config(),
        assignment or load_assignment_config(),
    )
    statuses = run.statuses()
    run.read_back(statuses)
    run.hand_off(statuses)
    run.complete()
    run.remind()
    return run.report
