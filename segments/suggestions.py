"""Conditions that would raise a segment's conversion: the sub-groups with the highest lift inside it."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from segments.compiler import PROFILES, TOUCHPOINTS, CompiledSegment, column_kind, converted_expression

# attributes worth splitting a segment on (those the table has); lifecycle_stage defines conversion itself
CANDIDATE_FIELDS = (
    "industry",
    "country",
    "job_title",
    "company_industry",
    "device_type",
    "browser_family",
    "os_family",
    "engagement_level",
    "top_interest",
    "communication_preference",
    "language",
    "gender",
)
SCORE_FIELDS = ("lead_score", "engagement_potential", "purchase_likelihood")
EVENT_WINDOW_DAYS = 90
# events that make a profile a customer or only customers produce: suggesting them would restate the outcome
CONVERSION_EVENTS = ("Order Completed", "Support Ticket Created")
# when a segment is all customers or none, lift is measured on the purchase model's score instead
FALLBACK_SCORE = "purchase_likelihood"


@dataclass(frozen=True)
class Suggestion:
    """A rule to add to the segment, with how many members keep it and how much better they convert."""

    rule: dict[str, Any]
    members: int
    value: float
    lift: float
    metric: str = "conversion rate"

    def describe(self) -> str:
        """One line for the preview."""
        return (
            f"add {self.rule}: {self.members} members, {self.metric} {self.value:.1%} (lift x{self.lift:.2f})"
        )


@dataclass(frozen=True)
class Suggestions:
    """The segment's value of the metric and the best conditions to add."""

    metric: str
    base: float | None
    items: list[Suggestion]


def suggest(
    con: duckdb.DuckDBPyConnection,
    compiled: CompiledSegment,
    columns: dict[str, str],
    as_of: dt.datetime | None = None,
    limit: int = 5,
    min_share: float = 0.05,
    min_members: int = 10,
) -> Suggestions:
    """The conditions with the highest lift on conversion (members >= min_share and >= min_members).

    Conversion is becoming a customer; in a segment of only customers or none, the mean purchase_likelihood.
    """
    as_of = as_of or dt.datetime.now(dt.UTC)
    converted = converted_expression(columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE suggestion_base AS SELECT p.*, {converted}::DOUBLE AS outcome "
        f"FROM {PROFILES} AS p WHERE {compiled.where}",
        list(compiled.params),
    )
    metric, excluded = "conversion rate", None
    size, rate = con.execute("SELECT count(*), avg(outcome) FROM suggestion_base").fetchone()
    if size and rate in (0, 1) and column_kind(columns.get(FALLBACK_SCORE, "")) == "numeric":
        con.execute(f"UPDATE suggestion_base SET outcome = {FALLBACK_SCORE}")
        metric, excluded = f"mean {FALLBACK_SCORE}", FALLBACK_SCORE
        rate = con.execute("SELECT avg(outcome) FROM suggestion_base").fetchone()[0]
    if not size or not rate or rate == 1:
        return Suggestions(metric, rate, [])
    floor = max(min_members, int(size * min_share))
    found: list[tuple[dict[str, Any], int, float]] = []
    for field in CANDIDATE_FIELDS:
        if columns.get(field) != "VARCHAR":
            continue
        quoted = '"' + field + '"'
        rows = con.execute(
            f"SELECT {quoted}, count(*), avg(outcome) FROM suggestion_base "
            f"WHERE {quoted} IS NOT NULL GROUP BY 1 HAVING count(*) >= ?",
            [floor],
        ).fetchall()
        found += [({"field": field, "op": "eq", "value": value}, n, r) for value, n, r in rows]
    for field in SCORE_FIELDS:
        if field != excluded and field in columns and column_kind(columns[field]) == "numeric":
            found += _score_thresholds(con, field, floor)
    found += _events(con, as_of, floor)
    suggestions = [
        Suggestion(rule, n, r, r / rate, metric)
        for rule, n, r in found
        if r is not None and r > rate and n < size
    ]
    suggestions.sort(key=lambda s: (-s.lift, -s.members))
    return Suggestions(metric, rate, suggestions[:limit])


def _score_thresholds(con, field: str, floor: int) -> list[tuple[dict[str, Any], int, float]]:
    quoted = '"' + field + '"'
    cuts = con.execute(
        f"SELECT quantile_cont({quoted}, [0.5, 0.75]) FROM suggestion_base WHERE {quoted} IS NOT NULL"
    ).fetchone()[0]
    results = []
    for cut in dict.fromkeys(round(float(c), 2) for c in (cuts or [])):
        n, r = con.execute(
            f"SELECT count(*), avg(outcome) FROM suggestion_base WHERE {quoted} >= ?", [cut]
        ).fetchone()
        if n >= floor:
            results.append(({"score": field, "min": cut}, n, r))
    return results


def _events(con, as_of: dt.datetime, floor: int) -> list[tuple[dict[str, Any], int, float]]:
    rows = con.execute(
        f"""SELECT t.event_name, count(DISTINCT b.profile_id), avg(b.outcome)
        FROM suggestion_base AS b
        JOIN (SELECT DISTINCT profile_id, event_name FROM {TOUCHPOINTS}
              WHERE event_name IS NOT NULL AND NOT list_contains(CAST(? AS VARCHAR[]), event_name)
                AND occurred_at > ? AND occurred_at <= ?) AS t
          ON t.profile_id = b.profile_id
        GROUP BY 1 HAVING count(DISTINCT b.profile_id) >= ?""",
        [list(CONVERSION_EVENTS), as_of - dt.timedelta(days=EVENT_WINDOW_DAYS), as_of, floor],
    ).fetchall()
    return [({"event": name, "at_least": 1, "within_days": EVENT_WINDOW_DAYS}, n, r) for name, n, r in rows]
