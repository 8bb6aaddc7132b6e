"""The handoff step's tables: state per profile, the handoffs, the round-robin pointer and the outbox.

All live in schema activation; dbt builds marts.lead_handoffs, what analysts query, over
activation.lead_handoffs.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import duckdb
import pyarrow as pa

from revloop.warehouse import column_names, quote

_SCHEMA = """
create schema if not exists activation;
create table if not exists activation.handoff_state (
    profile_id varchar primary key, cycle integer, state varchar, cycle_started_at timestamptz,
    last_handoff_score double
);
create table if not exists activation.lead_handoffs (
    profile_id varchar, "trigger" varchar, priority varchar, owner_id varchar, assignment_rule varchar,
    handed_off_at timestamptz, crm varchar, crm_record_id varchar,
    cycle integer, state varchar, crm_object varchar, owner_email varchar, assignment_detail varchar,
    trigger_detail varchar, status_at_handoff varchar, lead_score double, owner_set_at timestamptz,
    task_id varchar, task_due_date date, notified_at timestamptz, reminders_sent integer,
    last_reminder_at timestamptz, task_closed_at timestamptz, closed_at timestamptz, last_error varchar,
    payload varchar, reminder_tasks_created integer default 0,
    primary key (profile_id, cycle)
);
create table if not exists activation.handoff_round_robin (
    crm varchar, rep_id varchar, last_sequence bigint, assigned_count bigint, primary key (crm, rep_id)
);
create table if not exists activation.outbox (
    message_id varchar, kind varchar, profile_id varchar, cycle integer, to_address varchar, subject varchar,
    body varchar, status varchar, error varchar, created_at timestamptz, sent_at timestamptz
);
alter table activation.outbox add column if not exists html varchar;
alter table activation.outbox add column if not exists attempts integer default 0;
alter table activation.outbox add column if not exists next_attempt_at timestamptz;
alter table activation.outbox add column if not exists digest_id varchar;
create table if not exists activation.handoff_record_status (
    crm varchar, crm_record_id varchar, lead_status varchar, is_nurturing boolean,
    entered_nurturing_at timestamptz, primary key (crm, crm_record_id)
);
create table if not exists activation.handoff_stale_leads (
    profile_id varchar, nurturing_started_at timestamptz, days_in_nurturing double, crm varchar,
    crm_record_id varchar, reported_at timestamptz
);
"""

HANDOFF_COLUMNS = (
    "profile_id",
    "trigger",
    "priority",
    "owner_id",
    "assignment_rule",
    "handed_off_at",
    "crm",
    "crm_record_id",
    "cycle",
    "state",
    "crm_object",
    "owner_email",
    "assignment_detail",
    "trigger_detail",
    "status_at_handoff",
    "lead_score",
    "owner_set_at",
    "task_id",
    "task_due_date",
    "notified_at",
    "reminders_sent",
    "last_reminder_at",
    "task_closed_at",
    "closed_at",
    "last_error",
    "payload",
    "reminder_tasks_created",
)
OUTBOX_COLUMNS = (
    "message_id",
    "kind",
    "profile_id",
    "cycle",
    "to_address",
    "subject",
    "body",
    "status",
    "error",
    "created_at",
    "sent_at",
    "html",
    "attempts",
    "next_attempt_at",
    "digest_id",
)


Rows = Sequence[dict[str, Any]]
HANDOFFS = "activation.lead_handoffs"
# where older versions kept the handoffs themselves (now dbt's mart over HANDOFFS)
LEGACY_HANDOFFS = ("marts", "lead_handoffs")


class HandoffStore:
    """The handoff tables of one warehouse connection; each write method is one committed transaction."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        self.connection.execute("begin")
        try:
            existing = column_names(self.connection, "activation", "lead_handoffs")
            adopting = not existing and column_names(self.connection, *LEGACY_HANDOFFS)
            self.connection.execute(_SCHEMA)
            if adopting:
                self._adopt_legacy_handoffs()
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise

    def _adopt_legacy_handoffs(self) -> None:
        """Copy the handoffs an older version kept in marts.lead_handoffs, before dbt replaces that table."""
        legacy = column_names(self.connection, *LEGACY_HANDOFFS)
        names = ", ".join(quote(c) for c in HANDOFF_COLUMNS if c in legacy)
        self.connection.execute(
            f"insert into {HANDOFFS} ({names}) select {names} from {'.'.join(LEGACY_HANDOFFS)}"
        )

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Query rows as dicts."""
        cursor = self.connection.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def states(self) -> dict[str, dict[str, Any]]:
        """activation.handoff_state per profile."""
        return {r["profile_id"]: r for r in self.rows("select * from activation.handoff_state")}

    def _open(self, condition: str = "true", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Handoffs of the current cycles still open (handed_off or accepted) that meet condition (SQL over
        h, the handoff row), oldest first, without their payloads (`payloads` reads those)."""
        return self.rows(
            f"select h.* exclude (payload) from {HANDOFFS} h join activation.handoff_state s "
            "on s.profile_id = h.profile_id and s.cycle = h.cycle "
            f"where h.state in ('handed_off', 'accepted') and ({condition}) "
            "order by h.handed_off_at, h.profile_id",
            params,
        )

    def open_handoffs(self) -> list[dict[str, Any]]:
        """Every open handoff of the current cycles."""
        return self._open()

    def handoffs_to_complete(self) -> list[dict[str, Any]]:
        """Handed-off leads still without an owner set or a task."""
        return self._open("h.state = 'handed_off' and (h.owner_set_at is null or h.task_id is null)")

    def handoffs_to_notify(self) -> list[dict[str, Any]]:
        """Handed-off leads whose task exists (or whose queue owns them) and whose rep's e-mail is not yet
        recorded in the outbox."""
        return self._open(
            "h.state = 'handed_off' "
            "and (h.task_id is not null or (h.assignment_rule = 'queue' and h.owner_set_at is not null)) "
            "and not exists (select 1 from activation.outbox o where o.kind = 'handoff' "
            "and o.profile_id = h.profile_id and o.cycle = h.cycle)"
        )

    def handoffs_to_remind(self, as_of, after: timedelta, max_reminders: int) -> list[dict[str, Any]]:
        """Handed-off leads whose task is open, with fewer than max_reminders reminders, the last of them (or
        the handoff) at least `after` before as_of."""
        return self._open(
            "h.state = 'handed_off' and h.task_id is not null and h.task_closed_at is null "
            "and h.reminders_sent < ? and coalesce(h.last_reminder_at, h.handed_off_at) + ? <= ?",
            [max_reminders, after, as_of],
        )

    def reminders_without_task(self) -> list[dict[str, Any]]:
        """Handed-off leads with a recorded reminder whose task is not yet made."""
        return self._open(
            "h.state = 'handed_off' and coalesce(h.reminder_tasks_created, 0) < h.reminders_sent"
        )

    def payloads(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        """The stored payload of each (profile_id, cycle)."""
        if not keys:
            return {}
        wanted = pa.table({"profile_id": [k[0] for k in keys], "cycle": [k[1] for k in keys]})
        self.connection.register("wanted_handoffs", wanted)
        try:
            rows = self.connection.execute(
                f"select h.profile_id, h.cycle, h.payload from {HANDOFFS} h join wanted_handoffs w "
                "on w.profile_id = h.profile_id and w.cycle = h.cycle"
            ).fetchall()
        finally:
            self.connection.unregister("wanted_handoffs")
        return {(profile_id, cycle): payload for profile_id, cycle, payload in rows}

    def _insert(
        self, table: str, columns: Sequence[str], rows: Sequence[dict[str, Any]], keys: Sequence[str] = ()
    ) -> None:
        """Insert rows; with keys, a row replaces the stored row with the same key (an upsert).

        The upsert deletes then inserts: DuckDB's `insert or replace` took 126 s to replace 14,844 handoff
        rows that delete + insert replace in 0.6 s (100,000-person benchmark warehouse)."""
        if not rows:
            return
        arrow = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
        self.connection.register("handoff_rows", arrow)
        try:
            if keys:
                match = " and ".join(f'stored."{k}" = handoff_rows."{k}"' for k in keys)
                self.connection.execute(f"delete from {table} stored using handoff_rows where {match}")
            names = ", ".join(f'"{c}"' for c in columns)
            self.connection.execute(f"insert into {table} ({names}) select {names} from handoff_rows")
        finally:
            self.connection.unregister("handoff_rows")

    def _update(self, table: str, keys: Sequence[str], columns: Sequence[str], rows: Rows) -> None:
        """Set columns of the stored rows with the rows' keys to the rows' values (the rest stays)."""
        if not rows:
            return
        arrow = pa.Table.from_pylist([{c: r.get(c) for c in (*keys, *columns)} for r in rows])
        self.connection.register("changed_rows", arrow)
        try:
            assignments = ", ".join(f"{quote(c)} = changed_rows.{quote(c)}" for c in columns)
            match = " and ".join(f"stored.{quote(k)} = changed_rows.{quote(k)}" for k in keys)
            self.connection.execute(
                f"update {table} stored set {assignments} from changed_rows where {match}"
            )
        finally:
            self.connection.unregister("changed_rows")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction around the writes inside: committed at the end, rolled back on any error."""
        self.connection.execute("begin")
        try:
            yield
            self.connection.execute("commit")
        except BaseException:
            self.connection.execute("rollback")
            raise

    def save(
        self, handoffs: Rows = (), states: Rows = (), outbox: Rows = (), changed: Sequence[str] = ()
    ) -> None:
        """write() in a transaction of its own."""
        with self.transaction():
            self.write(handoffs, states, outbox, changed)

    def write(
        self, handoffs: Rows = (), states: Rows = (), outbox: Rows = (), changed: Sequence[str] = ()
    ) -> None:
        """Upsert handoff rows and states and record outbox rows (call within a transaction).

        With changed, the handoffs are stored rows whose `changed` columns are set (their payloads and other
        columns stay). An outbox row is recorded once per (kind, profile, cycle): recording it again changes
        nothing.
        """
        state_columns = ("profile_id", "cycle", "state", "cycle_started_at", "last_handoff_score")
        if changed:
            self._update(HANDOFFS, ("profile_id", "cycle"), changed, handoffs)
        else:
            self._insert(HANDOFFS, HANDOFF_COLUMNS, handoffs, ("profile_id", "cycle"))
        self._insert("activation.handoff_state", state_columns, states, ("profile_id",))
        self.record_outbox(outbox)

    def record_outbox(self, rows: Rows) -> None:
        """Record outbox rows whose (kind, profile, cycle) is not recorded yet (call within a transaction)."""
        if not rows:
            return
        self.connection.register(
            "outbox_rows", pa.Table.from_pylist([{c: r.get(c) for c in OUTBOX_COLUMNS} for r in rows])
        )
        try:
            names = ", ".join(quote(c) for c in OUTBOX_COLUMNS)
            self.connection.execute(
                f"insert into activation.outbox ({names}) select {names} from outbox_rows r "
                "where not exists (select 1 from activation.outbox o "
                "where o.kind = r.kind and o.profile_id = r.profile_id and o.cycle = r.cycle)"
            )
        finally:
            self.connection.unregister("outbox_rows")

    def carry_in_digests(self, digest_of: dict[str, str]) -> None:
        """Mark queued mails (by Message-ID) as carried by a digest (its Message-ID), never sent themselves
        (call within a transaction)."""
        if not digest_of:
            return
        carried = pa.table({"message_id": list(digest_of), "digest_id": list(digest_of.values())})
        self.connection.register("carried_rows", carried)
        try:
            self.connection.execute(
                "update activation.outbox o set status = 'in_digest', digest_id = c.digest_id "
                "from carried_rows c where o.message_id = c.message_id and o.status = 'queued'"
            )
        finally:
            self.connection.unregister("carried_rows")

    def count_due(self, now) -> int:
        """How many queued outbox rows are due."""
        return self.connection.execute(
            "select count(*) from activation.outbox where status = 'queued' "
            "and coalesce(next_attempt_at, created_at) <= ?",
            [now],
        ).fetchall()[0][0]

    def due_mails(self, now, limit: int | None = None, after: tuple[Any, str] | None = None) -> Rows:
        """Queued outbox rows whose next attempt is due, oldest first: at most limit of them, those after
        `after` (the created_at and message_id of the last row of the page before)."""
        page = "and (created_at, message_id) > (?, ?) " if after else ""
        return self.rows(
            "select * from activation.outbox where status = 'queued' "
            f"and coalesce(next_attempt_at, created_at) <= ? {page}order by created_at, message_id"
            + (" limit ?" if limit else ""),
            [now, *(after or ()), *([limit] if limit else [])],
        )

    def mark_sent(self, message_id: str, sent_at, handoff: tuple[str, int] | None) -> None:
        """The server accepted a mail: the row is sent and, for a handoff mail, the handoff notified."""
        self.connection.execute("begin")
        try:
            self.connection.execute(
                "update activation.outbox set status = 'sent', sent_at = ?, error = null, "
                "attempts = coalesce(attempts, 0) + 1 where message_id = ?",
                [sent_at, message_id],
            )
            if handoff is not None:
                self.connection.execute(
                    f"update {HANDOFFS} set notified_at = ? "
                    "where profile_id = ? and cycle = ? and notified_at is null",
                    [sent_at, *handoff],
                )
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise

    def database_file(self) -> str | None:
        """The warehouse file of this connection (None in memory)."""
        return self.connection.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()[0]

    def mark_outcomes(self, sent: Sequence[dict[str, Any]], failed: Sequence[dict[str, Any]] = ()) -> None:
        """Many outcomes in one transaction: sent rows (message_id, kind, profile_id, cycle, sent_at) and
        failed ones (message_id, error, next_attempt_at). Marking a sent row again changes nothing."""
        self.connection.execute("begin")
        try:
            if sent:
                self.connection.register("sent_rows", pa.Table.from_pylist(list(sent)))
                self.connection.execute(
                    "update activation.outbox o set status = 'sent', sent_at = s.sent_at, error = null, "
                    "attempts = coalesce(o.attempts, 0) + 1 from sent_rows s "
                    "where o.message_id = s.message_id and o.status <> 'sent'"
                )
                self.connection.execute(
                    f"update {HANDOFFS} h set notified_at = s.sent_at from sent_rows s "
                    "where s.kind = 'handoff' and h.profile_id = s.profile_id and h.cycle = s.cycle "
                    "and h.notified_at is null"
                )
                # a digest notifies every handoff it lists
                self.connection.execute(
                    f"update {HANDOFFS} h set notified_at = c.sent_at from ("
                    "select o.profile_id, o.cycle, s.sent_at from activation.outbox o "
                    "join sent_rows s on o.digest_id = s.message_id where s.kind = 'digest') c "
                    "where h.profile_id = c.profile_id and h.cycle = c.cycle and h.notified_at is null"
                )
                self.connection.execute(
                    "update activation.outbox o set status = 'sent', sent_at = s.sent_at from sent_rows s "
                    "where s.kind = 'digest' and o.digest_id = s.message_id and o.status = 'in_digest'"
                )
            if failed:
                self.connection.register("failed_rows", pa.Table.from_pylist(list(failed)))
                self.connection.execute(
                    "update activation.outbox o set error = f.error, next_attempt_at = f.next_attempt_at, "
                    "attempts = coalesce(o.attempts, 0) + 1 from failed_rows f "
                    "where o.message_id = f.message_id and o.status = 'queued'"
                )
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
        finally:
            for name in ("sent_rows", "failed_rows"):
                self.connection.unregister(name)

    def record_statuses(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The lead status revloop last saw per CRM record, and when it (re-)entered nurturing."""
        rows = self.rows("select * from activation.handoff_record_status")
        return {(r["crm"], r["crm_record_id"]): r for r in rows}

    def save_record_statuses(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert changed record statuses."""
        columns = ("crm", "crm_record_id", "lead_status", "is_nurturing", "entered_nurturing_at")
        with self.transaction():
            self._insert("activation.handoff_record_status", columns, rows, ("crm", "crm_record_id"))

    def report_stale(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the list of leads in nurturing too long to be handed off by the time trigger."""
        columns = (
            "profile_id",
            "nurturing_started_at",
            "days_in_nurturing",
            "crm",
            "crm_record_id",
            "reported_at",
        )
        with self.transaction():
            self.connection.execute("delete from activation.handoff_stale_leads")
            self._insert("activation.handoff_stale_leads", columns, rows)

    def round_robin(self) -> dict[tuple[str, str], int]:
        """The sequence number of each (crm, rep)'s last assignment: the round-robin pointer."""
        rows = self.connection.execute(
            "select crm, rep_id, last_sequence from activation.handoff_round_robin"
        ).fetchall()
        return {(crm, rep): sequence for crm, rep, sequence in rows}

    def save_round_robin(self, crm: str, picks: Iterable[tuple[str, int]]) -> None:
        """Advance the pointer: each (rep, sequence) picked in this run."""
        rows = [{"crm": crm, "rep_id": rep, "last_sequence": seq} for rep, seq in picks]
        if not rows:
            return
        self.connection.register("rr_rows", pa.Table.from_pylist(rows))
        try:
            self.connection.execute(
                "insert into activation.handoff_round_robin "
                "select crm, rep_id, max(last_sequence), count(*) from rr_rows group by crm, rep_id "
                "on conflict (crm, rep_id) do update set last_sequence = excluded.last_sequence, "
                "assigned_count = handoff_round_robin.assigned_count + excluded.assigned_count"
            )
        finally:
            self.connection.unregister("rr_rows")

    def now_sequence(self) -> int:
        """The highest round-robin sequence number given so far (any CRM)."""
        return self.connection.execute(
            "select coalesce(max(last_sequence), 0) from activation.handoff_round_robin"
        ).fetchall()[0][0]
