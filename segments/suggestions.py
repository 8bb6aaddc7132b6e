"""Conditions that would raise a segment's conversion: the sub-groups with the highest lift inside it.

Candidates come from the data (profile attributes, score thresholds, recent events) and from the purchase
model's feature importances: a top feature that is a profile column becomes candidate conditions, and one
that only the model's feature table holds is reported as a model signal with its lift inside the segment.
"""

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from segments.catalogue import describe_rule, is_integer
from segments.compiler import PROFILES, TOUCHPOINTS, CompiledSegment, column_kind, table_columns
from segments.conversions import OutcomeQuery

# attributes worth splitting a segment on (those the table has)
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
# the stage restates conversion (customers are those who ordered): never suggested, even if the model ranks it
OUTCOME_FIELDS = ("lifecycle_stage", "is_customer")
EVENT_WINDOW_DAYS = 90
# events that make a profile a customer or only customers produce: suggesting them would restate the outcome
CONVERSION_EVENTS = ("Order Completed", "Support Ticket Created")
# when a segment is all converted or none, lift is measured on the purchase model's score instead
FALLBACK_SCORE = "purchase_likelihood"
# the model whose feature importances guide the suggestions, and the table its features come from
IMPORTANCE_TASK = "purchase"
FEATURES = ("marts", "ml_features")
# model features that count the outcome itself (past purchases are orders, open deals are opportunities):
# as signals for that outcome they would only restate it
OUTCOME_FEATURE_WORDS = {"order": ("purchase",), "customer": ("purchase",), "opportunity": ("deal",)}


@dataclass(frozen=True)
class Suggestion:
    """A rule to add to the segment, with how many members keep it and how much better they convert."""

    rule: dict[str, Any]
    members: int
    value: float
    lift: float
    metric: str = "conversion rate"
    importance: float | None = None

    def words(self) -> str:
        """The rule in words: 'industry is Finance'."""
        return describe_rule(self.rule)

    def describe(self) -> str:
        """One line for the preview."""
        why = "" if self.importance is None else f", model importance {self.importance:.3f}"
        return (
            f"add {self.words()}: {self.members} member{'' if self.members == 1 else 's'}, "
            f"{self.metric} {self.value:.1%} "
            f"(lift x{self.lift:.2f}{why})"
        )


@dataclass(frozen=True)
class Signal:
    """A top model feature no rule can express yet: members at or above a cut, and how they convert."""

    feature: str
    importance: float
    cut: float
    members: int
    value: float
    lift: float
    metric: str = "conversion rate"

    def describe(self) -> str:
        """One line for the preview."""
        return (
            f"model feature {self.feature} (importance {self.importance:.3f}) >= {self.cut:g}: "
            f"{self.members} members, {self.metric} {self.value:.1%} (lift x{self.lift:.2f})"
        )


@dataclass(frozen=True)
class Suggestions:
    """The segment's value of the metric, the best conditions to add, and the model's signals."""

    metric: str
    base: float | None
    items: list[Suggestion]
    signals: list[Signal] = field(default_factory=list)
    note: str | None = None


def model_importances(warehouse: Path, task: str = IMPORTANCE_TASK) -> list[dict[str, Any]]:
    """The current model's top features ({feature, importance}); empty before any model is trained."""
    from ml.registry import ModelRegistry

    current = ModelRegistry(warehouse=warehouse).current(task)
    if current is None:
        return []
    return [f for f in current.card.get("top_features", []) if f.get("importance", 0) > 0]


def suggest(
    con: duckdb.DuckDBPyConnection,
    compiled: CompiledSegment,
    columns: dict[str, str],
    outcome: OutcomeQuery,
    as_of: dt.datetime | None = None,
    importances: list[dict[str, Any]] | None = None,
    limit: int = 5,
    min_share: float = 0.05,
    min_members: int = 10,
) -> Suggestions:
    """The conditions with the highest lift on `outcome` (members >= min_share and >= min_members).

    When the outcome cannot be measured, or the segment is all converted or none, the metric is the mean
    purchase_likelihood instead.
    """
    as_of = as_of or dt.datetime.now(dt.UTC)
    importance = {f["feature"]: float(f["importance"]) for f in importances or []}
    converted = "false" if outcome.sql is None else f"p.profile_id IN ({outcome.sql})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE suggestion_base AS SELECT p.*, ({converted})::DOUBLE AS outcome "
        f"FROM {PROFILES} AS p WHERE {compiled.where}",
        [*(() if outcome.sql is None else outcome.params), *compiled.params],
    )
    metric, excluded = f"{outcome.kind} rate", None
    size, rate = con.execute("SELECT count(*), avg(outcome) FROM suggestion_base").fetchone()
    note = outcome.reason and f"{outcome.kind} conversion unavailable: {outcome.reason}"
    if size and (rate in (0, 1) or outcome.sql is None):
        if column_kind(columns.get(FALLBACK_SCORE, "")) != "numeric":
            why = f"{FALLBACK_SCORE} is not in {PROFILES} to measure lift on instead"
            return Suggestions(metric, None if outcome.sql is None else rate, [], note=_join(note, why))
        con.execute(f"UPDATE suggestion_base SET outcome = {FALLBACK_SCORE}")
        metric, excluded = f"mean {FALLBACK_SCORE}", FALLBACK_SCORE
        rate = con.execute("SELECT avg(outcome) FROM suggestion_base").fetchone()[0]
    floor = max(min_members, int(size * min_share))
    if not size or not rate or rate == 1:
        return Suggestions(metric, rate, [], note=_join(note, _why_none(size, rate, metric, floor)))
    found: list[tuple[dict[str, Any], int, float]] = []
    fields = [f for f in CANDIDATE_FIELDS if f in columns] + [
        f for f in importance if f in columns and f not in (*CANDIDATE_FIELDS, *OUTCOME_FIELDS, excluded)
    ]
    for name in fields:
        kind = column_kind(columns[name])
        if kind == "text":
            found += _values(con, name, floor)
        elif kind == "numeric":
            found += _thresholds(con, name, floor, score=False, integer=is_integer(columns[name]))
    for name in SCORE_FIELDS:
        if name != excluded and name in columns and column_kind(columns[name]) == "numeric":
            found += _thresholds(con, name, floor, score=True, integer=is_integer(columns[name]))
    found += _events(con, as_of, floor)
    suggestions = [
        Suggestion(rule, n, r, r / rate, metric, importance.get(rule.get("field") or rule.get("score")))
        for rule, n, r in found
        if r is not None and r > rate and n < size
    ]
    # equal lift: a condition the model also ranks high first
    suggestions.sort(key=lambda s: (-round(s.lift, 6), -(s.importance or 0), -s.members))
    suggestions = _distinct(suggestions)
    if not suggestions:
        note = _join(note, _why_none(size, rate, metric, floor))
    restating = OUTCOME_FEATURE_WORDS.get(outcome.kind, ())
    signals = _signals(
        con,
        {name: value for name, value in importance.items() if not any(w in name for w in restating)},
        columns,
        floor,
        rate,
        metric,
    )
    return Suggestions(metric, rate, suggestions[:limit], signals[:limit], note)


def _distinct(suggestions: list[Suggestion]) -> list[Suggestion]:
    """The suggestions without repeats: one condition per value (industry vs company_industry = Finance) and
    per group of members with the same count and rate."""
    kept, seen = [], set()
    for s in suggestions:
        value = s.rule.get("value")
        keys = {(s.members, round(s.value, 9), str(s.rule.get("event") or s.rule.get("score")))}
        if "field" in s.rule:
            keys = {(s.rule["op"], str(value).lower()), (s.members, round(s.value, 9), str(value).lower())}
        if keys & seen:
            continue
        seen |= keys
        kept.append(s)
    return kept


def _why_none(size: int, rate: float | None, metric: str, floor: int) -> str:
    """A sentence saying why a segment gets no suggestion."""
    if not size:
        return "no suggestions: the segment matches no profile"
    if rate == 1:
        return f"no suggestions: every member is already converted ({metric} 100%)"
    if not rate:
        return f"no suggestions: {metric} is 0 in the segment, so no condition can raise it"
    if size < 2 * floor:
        return (
            f"no suggestions: the segment has {size} members; a suggestion must keep at least {floor} "
            "of them and leave some out, so it is too small to split"
        )
    return f"no suggestions: no condition keeps at least {floor} members with a higher {metric}"


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _values(con, name: str, floor: int) -> list[tuple[dict[str, Any], int, float]]:
    quoted = '"' + name + '"'
    rows = con.execute(
        f"SELECT {quoted}, count(*), avg(outcome) FROM suggestion_base "
        f"WHERE {quoted} IS NOT NULL GROUP BY 1 HAVING count(*) >= ?",
        [floor],
    ).fetchall()
    return [({"field": name, "op": "eq", "value": value}, n, r) for value, n, r in rows]


def _thresholds(
    con, name: str, floor: int, score: bool, integer: bool = False
) -> list[tuple[dict[str, Any], int, float]]:
    quoted = '"' + name + '"'
    cuts = con.execute(
        f"SELECT quantile_cont({quoted}, [0.5, 0.75]) FROM suggestion_base WHERE {quoted} IS NOT NULL"
    ).fetchone()[0]
    results = []
    # an integer column gets a whole-number limit (the next one up keeps the cut's meaning: >= the quantile)
    rounded = (math.ceil(float(c)) if integer else round(float(c), 2) for c in (cuts or []))
    for cut in dict.fromkeys(rounded):
        n, r = con.execute(
            f"SELECT count(*), avg(outcome) FROM suggestion_base WHERE {quoted} >= ?", [cut]
        ).fetchone()
        if n >= floor:
            rule = {"score": name, "min": cut} if score else {"field": name, "op": "gte", "value": cut}
            results.append((rule, n, r))
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


def _signals(
    con, importance: dict[str, float], columns: dict[str, str], floor: int, rate: float, metric: str
) -> list[Signal]:
    """Top numeric model features outside the profile table, measured on the latest feature snapshot."""
    available = table_columns(con, *FEATURES)
    names = [
        name
        for name in importance
        if name not in columns and column_kind(available.get(name, "")) == "numeric"
    ]
    if not names or "is_scoring_snapshot" not in available:
        return []
    found = []
    table = ".".join(FEATURES)
    for name in names:
        quoted = '"' + name + '"'
        latest = (
            f"SELECT b.outcome, f.{quoted} AS value FROM suggestion_base AS b "
            f"JOIN {table} AS f ON f.profile_id = b.profile_id AND f.is_scoring_snapshot"
        )
        cut = con.execute(f"SELECT quantile_cont(value, 0.5) FROM ({latest}) WHERE value > 0").fetchone()[0]
        if cut is None:
            continue
        n, r = con.execute(
            f"SELECT count(*), avg(outcome) FROM ({latest}) WHERE value >= ?", [cut]
        ).fetchone()
        if n >= floor and r is not None and r > rate:
            found.append(Signal(name, importance[name], round(float(cut), 2), n, r, r / rate, metric))
    found.sort(key=lambda s: -s.importance)
    return found
