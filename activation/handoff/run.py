"""One handoff run: read states back, evaluate triggers, assign, set owners, create tasks, notify, remind."""

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.handoff.assignment import Assigner, Lead, rep_from_row
from activation.handoff.crm import (
    SalesforceQueue,
    TaskRequest,
    create_tasks,
    find_tasks,
    hubspot_team_owners,
    open_tasks,
    salesforce_lead_queue,
    set_owners,
)
from activation.handoff.lifecycle import read_back
from activation.handoff.notify import (
    Attempt,
    Mail,
    SentJournal,
    message_id,
    outbox_rows,
    send_due,
    with_digests,
)
from activation.handoff.payload import html_page, html_sections, payload_chunks, render, render_html, summary
from activation.handoff.store import HandoffStore
from activation.handoff.triggers import evaluate, stale
from activation.mail import SmtpSettings
from activation.store import ActivationStore
from ingestion.hubspot import HubSpotConnection
from ingestion.salesforce.client import SalesforceConnection, connect
from revloop.config.assignment import AssignmentConfig, load_assignment_config
from revloop.config.handoff import HandoffConfig, load_handoff_config
from revloop.warehouse import connect_warehouse, state_dir, table_exists

SIGNALS = "intermediate.int_handoff_signals"
BEHAVIORS = "intermediate.int_handoff_behaviors"
REPS = "intermediate.int_handoff_reps"
STATUSES = "intermediate.int_handoff_crm_statuses"
PAYLOAD_CHUNK = 5000  # due leads whose payloads are read together
HANDOFF_CHUNK = 2000  # handoffs written, completed or notified together (their payloads held at once)
SEND_PAGE = 2000  # due outbox rows read (and sent) together


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
    stale: int = 0  # in nurturing too long for the time trigger: listed in activation.handoff_stale_leads
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase of the run
    # CPU time of this process per phase (every thread, DuckDB's included): what a phase costs besides
    # waiting for the CRMs and the SMTP server
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def metadata(self) -> dict[str, float]:
        """Plain counts for run metadata (due, handed off, owners, tasks, reminders, outcomes, errors), then
        the seconds of each phase (`seconds_sending`: the SMTP conversations, the server's time included) and
        the CPU seconds this process spent in each (`cpu_seconds_sending`: without the server's)."""
        return {
            "due": self.due,
            "handed_off": sum(self.handed_off.values()),
            "owners_set": self.owners_set,
            "tasks_created": self.tasks_created,
            "reminders": self.reminders,
            "stale_leads": self.stale,
            "accepted": self.accepted,
            "recycled": self.recycled,
            "errors": len(self.errors),
            **{f"seconds_{phase}": seconds for phase, seconds in self.seconds.items()},
            **{f"cpu_seconds_{phase}": seconds for phase, seconds in self.cpu_seconds.items()},
        }

    def markdown(self) -> str:
        """A Markdown table of handoffs per trigger, CRM and rule, e-mails per status and skips per reason."""
        groups = (
            ("trigger", self.handed_off),
            ("crm", self.by_crm),
            ("rule", self.rules),
            ("e-mail", self.emails),
            ("skipped:", self.skipped),
            ("seconds:", self.seconds),
            ("CPU seconds:", self.cpu_seconds),
        )
        rows = [f"| {label} {key} | {value} |" for label, counts in groups for key, value in counts.items()]
        return "\n".join(["| | count |", "|---|---:|", *rows])


def _created_by_sync(store: HandoffStore) -> dict[tuple[str, str], tuple[str, str]]:
    """Person records the sync created, not yet ingested back: (profile, crm) -> (object, record id)."""
    if not table_exists(store.connection, "activation.sync_log"):
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

    def __init__(self, con, sf, hs, smtp, as_of, config, assignment, on_step=None):
        self.con, self.sf, self.hs, self.smtp = con, sf, hs, smtp
        self.step = on_step or (lambda name: None)
        self.config, self.assignment = config, assignment
        self.store = HandoffStore(con)
        self.report = HandoffReport(uuid.uuid4().hex, as_of)
        self.as_of = as_of
        self.clients = {"salesforce": sf, "hubspot": hs}

    def statuses(self) -> dict[tuple[str, str], str | None]:
        if not table_exists(self.con, STATUSES):
            return {}
        rows = self.con.execute(f"select crm, crm_record_id, lead_status from {STATUSES}").fetchall()
        return {(crm, record): status for crm, record, status in rows}

    def track_statuses(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Each CRM record's nurturing status now, with when it (re-)entered nurturing as revloop saw it.

        The first sighting gives no entry time (the record's creation counts); a move from a sales status
        into a nurturing one dates the entry at the record's last modification.
        """
        if not table_exists(self.con, STATUSES):
            return {}
        rows = self.store.rows(f"select crm, crm_record_id, lead_status, updated_at from {STATUSES}")
        seen = self.store.record_statuses()
        current, changed = {}, []
        for row in rows:
            key = (row["crm"], row["crm_record_id"])
            nurturing = row["lead_status"] is None or row["lead_status"] in self._nurturing_statuses(
                row["crm"]
            )
            before = seen.get(key)
            if before is None or not nurturing:
                entered = None
            elif not before["is_nurturing"]:
                modified = row["updated_at"]
                if modified is not None and modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                entered = min(modified or self.as_of, self.as_of)
            else:
                entered = before["entered_nurturing_at"]
            state = {
                "crm": row["crm"],
                "crm_record_id": row["crm_record_id"],
                "lead_status": row["lead_status"],
                "is_nurturing": nurturing,
                "entered_nurturing_at": entered,
            }
            current[key] = state
            if before is None or any(before[k] != state[k] for k in ("lead_status", "is_nurturing")):
                changed.append(state)
        self.store.save_record_statuses(changed)
        return current

    def _nurturing_statuses(self, crm: str) -> set[str]:
        recycled = self.config.crm_states.get(crm)
        return set(self.config.nurturing_statuses.get(crm, [])) | set(recycled.recycled if recycled else [])

    def read_back(self, statuses) -> None:
        current = self.store.states()
        moved = read_back(self.store.open_handoffs(), statuses, self.config, self.as_of)
        for state in moved.states:
            if state["cycle_started_at"] is None:
                state["cycle_started_at"] = current.get(state["profile_id"], {}).get("cycle_started_at")
        self.store.save(handoffs=moved.handoffs, states=moved.states, changed=("state", "closed_at"))
        kinds = Counter(h["state"] for h in moved.handoffs)
        self.report.accepted, self.report.recycled = kinds["accepted"], kinds["recycled"]

    def _target(self, signal, created) -> tuple[str, tuple[str, str]] | None:
        """The CRM a handoff goes to and the person record there: the first configured CRM with one."""
        return next(
            (
                (crm, record)
                for crm in self.config.crm_order
                if self.clients[crm] is not None and (record := _record_for(signal, crm, created))
            ),
            None,
        )

    def queues(self) -> tuple[SalesforceQueue | None, set[str] | None]:
        """The configured Salesforce lead queue and HubSpot team's owner ids (None: not configured/found)."""
        names = self.assignment.queues
        queue = team = None
        if names.get("salesforce") and self.sf is not None:
            queue = salesforce_lead_queue(self.sf, names["salesforce"])
            if queue is None:
                self.report.errors.append(
                    f"Salesforce queue {names['salesforce']!r} not found or not for Leads: rules pick reps"
                )
        if names.get("hubspot") and self.hs is not None:
            team = hubspot_team_owners(self.hs, names["hubspot"]) or None
            if team is None:
                self.report.errors.append(f"HubSpot team {names['hubspot']!r} has no owner: rules pick reps")
        return queue, team

    def hand_off(self, statuses) -> None:
        for table in (SIGNALS, BEHAVIORS, REPS):
            if not table_exists(self.con, table):
                raise RuntimeError(
                    f"{table} is missing: build the dbt models of dbt_project/models/handoff first"
                )
        created = _created_by_sync(self.store)
        records = self.track_statuses()
        signals = {}
        # only profiles marketing may still own (an eligible stage, not a customer) can be due or stale:
        # the triggers check this again with the handoff state
        stages = sorted({s.lower() for s in self.config.eligible_lifecycle_stages})
        eligible = self.store.rows(
            f"select * from {SIGNALS} where not coalesce(is_customer, false) "
            f"and lower(coalesce(lifecycle_stage, '')) in ({', '.join('?' for _ in stages)})",
            stages,
        )
        for signal in eligible:
            target = self._target(signal, created)
            record = records.get((target[0], target[1][1])) if target else None
            signals[signal["profile_id"]] = {
                **signal,
                "in_nurturing_status": record is None or record["is_nurturing"],
                "nurturing_entered_at": record["entered_nurturing_at"] if record else None,
            }
        behaviors: dict[str, list[tuple[str, datetime]]] = {}
        for profile_id, behavior, at in self.con.execute(
            f"select profile_id, behavior, last_occurred_at from {BEHAVIORS}"
        ).fetchall():
            behaviors.setdefault(profile_id, []).append((behavior, at))
        states = self.store.states()
        too_old = stale(signals.values(), states, self.config, self.as_of)
        self.store.report_stale(
            [
                {
                    "profile_id": profile_id,
                    "nurturing_started_at": since,
                    "days_in_nurturing": round((self.as_of - since).total_seconds() / 86400, 1),
                    "crm": target[0] if target else None,
                    "crm_record_id": target[1][1] if target else None,
                    "reported_at": self.as_of,
                }
                for profile_id, since in too_old
                for target in [self._target(signals[profile_id], created)]
            ]
        )
        self.report.stale = len(too_old)
        due = evaluate(signals.values(), behaviors, states, self.config, self.as_of)
        self.report.due = len(due)
        if not due:
            return
        reps = [rep_from_row(r) for r in self.store.rows(f"select * from {REPS}")]
        assigner = Assigner(self.assignment, reps, self.store.round_robin(), self.store.now_sequence())
        queue, team = self.queues() if any(d.priority == "standard" for d in due) else (None, None)
        handoffs, new_states, decided = [], [], []
        skipped: Counter[str] = Counter()
        targets = {
            d.profile_id: target for d in due if (target := self._target(signals[d.profile_id], created))
        }
        skipped["no record in a configured CRM yet"] = len(due) - len(targets)
        # the decisions and the pointer are committed together before any CRM call (a rerun never decides
        # twice), the handoffs HANDOFF_CHUNK at a time: a large first run never holds every payload at once
        with self.store.transaction():
            for item, payload in self._with_payloads([d for d in due if d.profile_id in targets]):
                signal = signals[item.profile_id]
                crm, (crm_object, record_id) = targets[item.profile_id]
                products = frozenset(p for p in (signal.get("interested_products") or "").split(",") if p)
                lead = Lead(signal.get("country"), signal.get("industry"), products)
                standard = item.priority == "standard"
                if standard and crm == "salesforce" and crm_object == "Lead" and queue is not None:
                    owner_id, owner_email, rule = queue.queue_id, ", ".join(queue.emails), "queue"
                    detail = f"queue {queue.name}"
                else:
                    among = team if standard and crm == "hubspot" else None
                    assignment = assigner.assign(crm, lead, among)
                    if assignment is None:
                        skipped[f"no active rep in {crm}"] += 1
                        continue
                    owner_id, owner_email, rule = assignment.rep.rep_id, assignment.rep.email, assignment.rule
                    team_note = f"team {self.assignment.queues['hubspot']}; " if among else ""
                    detail = team_note + assignment.detail
                state = states.get(item.profile_id)
                cycle = state["cycle"] if state else 1
                due_days = self.config.task.due_days[item.priority]
                handoffs.append(
                    {
                        "profile_id": item.profile_id,
                        "trigger": item.trigger,
                        "priority": item.priority,
                        "owner_id": owner_id,
                        "assignment_rule": rule,
                        "handed_off_at": self.as_of,
                        "crm": crm,
                        "crm_record_id": record_id,
                        "cycle": cycle,
                        "state": "handed_off",
                        "crm_object": crm_object,
                        "owner_email": owner_email,
                        "assignment_detail": detail,
                        "trigger_detail": item.detail,
                        "status_at_handoff": statuses.get((crm, record_id)),
                        "lead_score": item.lead_score,
                        "task_due_date": (self.as_of + timedelta(days=due_days)).date(),
                        "reminders_sent": 0,
                        "reminder_tasks_created": 0,
                        "payload": payload,
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
                if len(handoffs) == HANDOFF_CHUNK:
                    decided += self._write_decisions(handoffs)
                    handoffs = []
            decided += self._write_decisions(handoffs)
            self.store.write(states=new_states)
            for crm in ("salesforce", "hubspot"):
                self.store.save_round_robin(crm, [(rep, seq) for c, rep, seq in assigner.picks if c == crm])
        self.step("decided")
        for key, counts in (("trigger", "handed_off"), ("crm", "by_crm"), ("assignment_rule", "rules")):
            setattr(self.report, counts, dict(Counter(h[key] for h in decided)))
        self.report.skipped = {reason: n for reason, n in skipped.items() if n}

    def _write_decisions(self, handoffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write decided handoffs (in the caller's transaction); what the report counts of them."""
        self.store.write(handoffs=handoffs)
        return [{k: h[k] for k in ("trigger", "crm", "assignment_rule")} for h in handoffs]

    def _with_payloads(self, due: list) -> Iterator[tuple[Any, str]]:
        """Each due item with its payload as stored JSON, built PAYLOAD_CHUNK profiles at a time (a large
        first run never holds every lead's interaction log in Python at once)."""
        limit = self.config.notifications.interaction_log_limit
        chunks = payload_chunks(self.con, [d.profile_id for d in due], limit, PAYLOAD_CHUNK)
        for start, payloads in zip(range(0, len(due), PAYLOAD_CHUNK), chunks, strict=True):
            for item in due[start : start + PAYLOAD_CHUNK]:
                yield item, summary(payloads.get(item.profile_id, {}))

    def complete(self) -> None:
        """Owner, task and e-mails of every open handoff still missing them (new ones, or a crashed run's)."""
        pending = self.store.handoffs_to_complete()
        todo = [h for h in pending if h["owner_set_at"] is None]
        results = set_owners(
            self.sf,
            self.hs,
            [(h["crm"], h["crm_object"], h["crm_record_id"], h["owner_id"], h["profile_id"]) for h in todo],
        )
        self.step("owners_written")
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
        self.store.save(handoffs=list(updated.values()), changed=("owner_set_at", "last_error"))
        self.step("owners_saved")
        pending = [updated.get((h["profile_id"], h["cycle"]), h) for h in pending]
        # a queue owns the Lead and is the sales to-do list (a Salesforce Task needs a user as owner)
        need_task = [
            h
            for h in pending
            if h["task_id"] is None and h["owner_set_at"] is not None and h["assignment_rule"] != "queue"
        ]
        for start in range(0, len(need_task), HANDOFF_CHUNK):
            self._create_tasks(need_task[start : start + HANDOFF_CHUNK])
        self.record_notifications()

    def _payloads(self, handoffs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The decoded payload of each handoff, in order."""
        stored = self.store.payloads([(h["profile_id"], h["cycle"]) for h in handoffs])
        return [json.loads(stored.get((h["profile_id"], h["cycle"])) or "{}") for h in handoffs]

    def _create_tasks(self, handoffs: Sequence[dict[str, Any]]) -> None:
        """The follow-up task of each handoff: found by its unique subject when an earlier run may have made
        it, else created; saved as soon as the CRM answered."""
        requests, by_subject = [], {}
        for h, payload in zip(handoffs, self._payloads(handoffs), strict=True):
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
        results = create_tasks(self.sf, self.hs, requests)
        self.step("tasks_created")
        for result in results:
            h = by_subject[result.request.subject]
            if result.task_id:
                tasks_done.append({**h, "task_id": result.task_id})
                self.report.tasks_created += 1
            else:
                tasks_done.append({**h, "last_error": f"task: {result.error}"})
                self.report.errors.append(f"task of {h['profile_id']}: {result.error}")
        self.store.save(handoffs=tasks_done, changed=("task_id", "last_error"))
        self.step("tasks_saved")

    def _rep_email(self, h: Mapping[str, Any]) -> list[str]:
        # a queue's notification goes to its e-mail or to each of its members
        return [a.strip() for a in (h.get("owner_email") or "").split(",") if a.strip()]

    def record_notifications(self) -> None:
        """Record the e-mails of every handoff whose task exists (sent later by flush, from the outbox), in
        one transaction, HANDOFF_CHUNK handoffs at a time; a rep with enough of them gets a digest."""
        # e-mails follow the task: the rep is told once the CRM holds what the e-mail points to
        pending = self.store.handoffs_to_notify()
        minimum = self.config.notifications.digest_min_handoffs
        per_rep = Counter(tuple(to) for h in pending if (to := self._rep_email(h)))
        # a handoff mail a digest carries is recorded without a body: it is never sent itself
        digested = {to for to, n in per_rep.items() if minimum and n >= minimum}
        listed: list[Mail] = []  # each handoff mail without its body: what a digest lists
        with self.store.transaction():
            for start in range(0, len(pending), HANDOFF_CHUNK):
                chunk = pending[start : start + HANDOFF_CHUNK]
                mails = [
                    mail
                    for h, payload in zip(chunk, self._payloads(chunk), strict=True)
                    for mail in self._notifications(h, payload, tuple(self._rep_email(h)) in digested)
                ]
                self.store.record_outbox(outbox_rows(mails, self.as_of))
                listed += [replace(m, body="", html=None) for m in mails if m.kind == "handoff"]
            planned = with_digests(listed, self.config.notifications.digest_min_handoffs)
            self.store.record_outbox(outbox_rows([m for m in planned if m.kind == "digest"], self.as_of))
            self.store.carry_in_digests(
                {message_id(m.kind, m.profile_id, m.cycle): m.digest_id for m in planned if m.digest_id}
            )
        self.step("mails_recorded")

    def _notifications(self, h: Mapping[str, Any], payload: Mapping[str, Any], digested: bool) -> list[Mail]:
        """The rep's e-mail about one handoff (without a body when a digest carries it), and the team alert of
        a priority one."""
        why = f"{h['trigger']} trigger: {h['trigger_detail']}"
        limit = self.config.notifications.interaction_log_limit
        where = f"{h['crm']} {h['crm_object']} {h['crm_record_id']}" + (
            f", task {h['task_id']} due {h['task_due_date']}" if h["task_id"] else ""
        )
        intro = (
            f"A new {h['priority']} lead is in {h['assignment_detail']} ({where})."
            if h["assignment_rule"] == "queue"
            else f"You have a new {h['priority']} lead ({where})."
        )
        alert = h["priority"] == "priority"
        text = render(payload, why, limit) if alert or not digested else ""
        sections = html_sections(payload, why, limit) if alert or not digested else ""
        subject = _subject(h, payload)
        mails = [
            Mail(
                "handoff",
                h["profile_id"],
                h["cycle"],
                self._rep_email(h),
                subject,
                "" if digested else f"{intro}\n\n{text}",
                None if digested else html_page(sections, intro),
                line=f"{h['priority']}: {subject}, {where}",
            )
        ]
        if alert:
            intro = f"Assigned to {h['owner_email'] or h['owner_id']} ({where})."
            mails.append(
                Mail(
                    "team_alert",
                    h["profile_id"],
                    h["cycle"],
                    self.config.notifications.team_alert_to,
                    f"Priority lead alert: {subject}",
                    f"{intro}\n\n{text}",
                    html_page(sections, intro),
                )
            )
        return mails

    def flush(self) -> None:
        """Send every queued e-mail that is due, each journaled as sent once the server accepted it; read
        SEND_PAGE rows at a time."""
        database = self.store.database_file()
        journal_path = state_dir(Path(database)) / "outbox-sent.jsonl" if database else None
        if journal_path is not None:
            journal_path.parent.mkdir(parents=True, exist_ok=True)
        # the journal first folds what a killed run left: those mails are not due any more
        with SentJournal(journal_path, self.store.mark_outcomes) as journal:
            if self.smtp is None:
                if due := self.store.count_due(self.as_of):
                    self.report.emails["queued"] = due
                return
            settings = self.config.notifications
            outcome: Counter[str] = Counter()

            def record(attempt: Attempt) -> None:
                row = attempt.row
                if attempt.sent_at is not None:
                    self.step("mail_accepted")
                    journal.accepted(attempt)
                    self.step("mail_marked")
                    outcome["sent"] += 1
                else:
                    journal.failed_attempt(attempt)
                    self.report.errors.append(f"e-mail {row['message_id']} not sent: {attempt.error}")
                    outcome["retrying"] += 1

            after = None
            while page := self.store.due_mails(self.as_of, SEND_PAGE, after):
                reached = send_due(
                    self.smtp,
                    page,
                    self.as_of,
                    timedelta(minutes=settings.retry_first_minutes),
                    timedelta(hours=settings.retry_max_hours),
                    record,
                    per_connection=settings.messages_per_connection,
                    senders=settings.parallel_senders,
                )
                if not reached:
                    break  # the server cannot be reached: the rest waits for the next run, untried
                after = (page[-1]["created_at"], page[-1]["message_id"])
        for status, count in outcome.items():
            self.report.emails[status] = self.report.emails.get(status, 0) + count

    def remind(self) -> None:
        """A reminder e-mail and task when the follow-up task is still open after after_days.

        The reminder is recorded (count, time, e-mail in the outbox) before its task is created; the task is
        looked up by its unique subject before being created, so a rerun after a crash never doubles it.
        """
        settings = self.config.reminders
        after = timedelta(days=settings.after_days)
        candidates = self.store.handoffs_to_remind(self.as_of, after, settings.max_reminders)
        if candidates:
            ids: dict[str, list[str]] = {}
            for h in candidates:
                ids.setdefault(h["crm"], []).append(h["task_id"])
            still_open = open_tasks(self.sf, self.hs, ids)
            closed = [
                {**h, "task_closed_at": self.as_of} for h in candidates if h["task_id"] not in still_open
            ]
            due = [h for h in candidates if h["task_id"] in still_open]
            with self.store.transaction():
                self.store.write(handoffs=closed, changed=("task_closed_at",))
                for start in range(0, len(due), HANDOFF_CHUNK):
                    chunk = due[start : start + HANDOFF_CHUNK]
                    mails = []
                    for h, payload in zip(chunk, self._payloads(chunk), strict=True):
                        number = h["reminders_sent"] + 1
                        body, html = self._reminder_text(h, payload)
                        subject = _subject(h, payload, number)
                        mails.append(
                            Mail(
                                f"reminder_{number}",
                                h["profile_id"],
                                h["cycle"],
                                self._rep_email(h),
                                subject,
                                body,
                                html,
                            )
                        )
                    reminded = [
                        {**h, "reminders_sent": h["reminders_sent"] + 1, "last_reminder_at": self.as_of}
                        for h in chunk
                    ]
                    self.store.write(
                        handoffs=reminded,
                        outbox=outbox_rows(mails, self.as_of),
                        changed=("reminders_sent", "last_reminder_at"),
                    )
            self.report.reminders = len(due)
            self.step("reminders_recorded")
        self.reminder_tasks()

    def _reminder_text(self, h: Mapping[str, Any], payload: Mapping[str, Any]) -> tuple[str, str]:
        intro = f"The follow-up task {h['task_id']} is still open."
        limit = self.config.notifications.interaction_log_limit
        why = f"{h['trigger']} trigger: {h['trigger_detail']}"
        return f"{intro}\n\n{render(payload, why, limit)}", render_html(payload, why, limit, intro)

    def reminder_tasks(self) -> None:
        """The task of every recorded reminder still without one: found by subject, or created."""
        pending = self.store.reminders_without_task()
        for start in range(0, len(pending), HANDOFF_CHUNK):
            self._create_reminder_tasks(pending[start : start + HANDOFF_CHUNK])

    def _create_reminder_tasks(self, handoffs: Sequence[dict[str, Any]]) -> None:
        requests, by_subject = [], {}
        for h, payload in zip(handoffs, self._payloads(handoffs), strict=True):
            subject = _subject(h, payload, h["reminders_sent"])
            body, _ = self._reminder_text(h, payload)
            requests.append(
                TaskRequest(
                    h["crm"],
                    h["crm_record_id"],
                    h["owner_id"],
                    subject,
                    body,
                    (h["last_reminder_at"] or self.as_of).date(),
                    h["priority"],
                )
            )
            by_subject[subject] = h
        existing = find_tasks(self.sf, self.hs, requests)
        done = [
            {**by_subject[s], "reminder_tasks_created": by_subject[s]["reminders_sent"]} for s in existing
        ]
        results = create_tasks(self.sf, self.hs, [r for r in requests if r.subject not in existing])
        self.step("reminder_tasks_created")
        for result in results:
            h = by_subject[result.request.subject]
            if result.task_id:
                done.append({**h, "reminder_tasks_created": h["reminders_sent"]})
            else:
                self.report.errors.append(f"reminder task of {h['profile_id']}: {result.error}")
        self.store.save(handoffs=done, changed=("reminder_tasks_created",))
        self.step("reminder_tasks_saved")


def run_handoffs(
    connection: duckdb.DuckDBPyConnection,
    sf: Salesforce | None,
    hs: HubSpot | None,
    smtp: SmtpSettings | None = None,
    as_of: datetime | None = None,
    config: HandoffConfig | None = None,
    assignment: AssignmentConfig | None = None,
    on_step: Callable[[str], None] | None = None,
) -> HandoffReport:
    """Hand off every profile a trigger makes due, once per cycle; idempotent (a rerun changes nothing).

    on_step(name) is called after each step that changes a CRM, the SMTP server or the warehouse (tests
    kill the run there).
    """
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
        on_step,
    )
    statuses = run.statuses()
    phases = (
        ("read_back", lambda: run.read_back(statuses)),
        ("decide", lambda: run.hand_off(statuses)),
        ("owners_tasks_mails", run.complete),
        ("reminders", run.remind),
        ("sending", run.flush),
    )
    for phase, step in phases:
        started, cpu_started = time.perf_counter(), time.process_time()
        step()
        run.report.seconds[phase] = round(time.perf_counter() - started, 2)
        run.report.cpu_seconds[phase] = round(time.process_time() - cpu_started, 2)
    return run.report


def hand_off_leads(
    warehouse: Path,
    salesforce: SalesforceConnection | None,
    hubspot: HubSpotConnection | None,
    smtp: SmtpSettings | None,
) -> HandoffReport:
    """run_handoffs on the warehouse file with the CRMs configured (none: no lead is handed off)."""
    sf = connect(salesforce) if salesforce else None
    hs = hubspot.hubspot() if hubspot else None
    with connect_warehouse(warehouse) as connection:
        return run_handoffs(connection, sf, hs, smtp)
