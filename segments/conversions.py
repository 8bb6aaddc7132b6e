"""Conversion outcomes a segment is measured on: handoff to sales, an opportunity, an order, customer stage.

Each outcome is a set of profile ids read from the table that records it, as of the run; a table or column
that is not in the warehouse (yet) makes that outcome unavailable with a reason instead of failing the run.
Handoffs are decided downstream of the segments (the sync models read them), so a run sees the handoffs
recorded up to the previous run; declaring them upstream would make a cycle.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from segments.compiler import PROFILES, TOUCHPOINTS, table_columns

# the order of the history columns and of the metadata: the three outcomes of the issue, then the stage
KINDS = ("handoff", "opportunity", "order", "customer")
# what preview and the builder optimise for unless told otherwise: the step most segments can still move
DEFAULT_KIND = "opportunity"
HANDOFFS = "marts.lead_handoffs"
# CRM deals per profile (Salesforce opportunities of the profile's accounts, HubSpot deals of its contacts)
DEALS = "intermediate.int_ml_deals"
ORDER_EVENT = "Order Completed"


@dataclass(frozen=True)
class Outcome:
    """Where one kind of conversion is recorded: a table of profile ids with the time it happened."""

    kind: str
    table: str
    time_column: str | None
    description: str
    condition: str = ""
    params: tuple[Any, ...] = ()


OUTCOMES = (
    Outcome("handoff", HANDOFFS, "handed_off_at", "handed off to sales"),
    Outcome("opportunity", DEALS, "created_at", "linked to a CRM opportunity or deal"),
    Outcome(
        "order",
        TOUCHPOINTS,
        "occurred_at",
        f"completed an order ({ORDER_EVENT!r} event)",
        "event_name = ?",
        (ORDER_EVENT,),
    ),
)


@dataclass(frozen=True)
class OutcomeQuery:
    """`SELECT profile_id` of the profiles that converted this way by the run, or why it cannot be known."""

    kind: str
    sql: str | None
    params: tuple[Any, ...] = ()
    reason: str | None = None


def outcome_query(con: duckdb.DuckDBPyConnection, outcome: Outcome, as_of: dt.datetime) -> OutcomeQuery:
    """The query of one outcome, or an unavailable one naming the missing table or column."""
    schema, name = outcome.table.split(".")
    columns = table_columns(con, schema, name)
    if not columns:
        return OutcomeQuery(outcome.kind, None, reason=f"{outcome.table} is not in the warehouse")
    needed = ["profile_id"] + ([outcome.time_column] if outcome.time_column else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        return OutcomeQuery(outcome.kind, None, reason=f"{outcome.table} lacks {', '.join(missing)}")
    filters = ["profile_id IS NOT NULL"]
    params: list[Any] = []
    if outcome.condition:
        filters.append(outcome.condition)
        params += outcome.params
    if outcome.time_column:
        # an outcome without a time still happened; one after the run's as-of time has not yet
        filters.append(f"({outcome.time_column} IS NULL OR {outcome.time_column} <= ?)")
        params.append(as_of)
    sql = f"SELECT DISTINCT profile_id FROM {outcome.table} WHERE {' AND '.join(filters)}"
    return OutcomeQuery(outcome.kind, sql, tuple(params))


def customer_query(profile_columns: dict[str, str]) -> OutcomeQuery:
    """Profiles at lifecycle stage customer (or flagged is_customer)."""
    parts = []
    if "lifecycle_stage" in profile_columns:
        parts.append("lower(p.lifecycle_stage) = 'customer'")
    if "is_customer" in profile_columns:
        parts.append("coalesce(p.is_customer, false)")
    if not parts:
        return OutcomeQuery("customer", None, reason=f"{PROFILES} has no lifecycle_stage or is_customer")
    return OutcomeQuery("customer", f"SELECT p.profile_id FROM {PROFILES} AS p WHERE {' OR '.join(parts)}")


def outcome_queries(
    con: duckdb.DuckDBPyConnection, profile_columns: dict[str, str], as_of: dt.datetime
) -> list[OutcomeQuery]:
    """One query per kind, in KINDS order."""
    found = {o.kind: outcome_query(con, o, as_of) for o in OUTCOMES}
    found["customer"] = customer_query(profile_columns)
    return [found[kind] for kind in KINDS]
