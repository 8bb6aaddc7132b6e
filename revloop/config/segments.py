"""config/segments/*.yml: segment definitions (static lists, dynamic rules, predictive score thresholds)."""

import datetime as dt
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

SegmentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
Scalar = str | int | float | bool | dt.date | dt.datetime

# operators of a field condition; which of them take a value, and which a list
COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte")
TEXT_MATCHES = ("contains", "starts_with")
LIST_OPERATORS = ("in", "not_in")
NULL_CHECKS = ("is_null", "not_null")
RECENCY = ("within_days",)
OPERATORS = COMPARISONS + TEXT_MATCHES + LIST_OPERATORS + NULL_CHECKS + RECENCY
# criteria families of the seed, plus predictive (model scores) and list (hand-made static lists)
Family = Literal[
    "demographic", "firmographic", "behavioural", "technographic", "psychographic", "predictive", "list"
]


class RuleError(ValueError):
    """A rule that is not one revloop understands; the message names the rule path and the allowed choices."""


class Condition(BaseModel):
    """A profile column compared with a value: `{field: industry, op: in, value: [Finance, Retail]}`."""

    model_config = ConfigDict(extra="forbid")

    field: str
    op: str
    value: Scalar | list[Scalar] | None = None


class EventRule(BaseModel):
    """Did the profile do event E (or view a page under a path) at least k times in the last N days."""

    model_config = ConfigDict(extra="forbid")

    event: str | None = None
    page_path_prefix: str | None = None
    at_least: StrictInt = Field(1, ge=1)
    within_days: StrictInt = Field(..., ge=1, le=3650)

    @model_validator(mode="after")
    def _one_target(self) -> "EventRule":
        if (self.event is None) == (self.page_path_prefix is None):
            raise ValueError("give exactly one of event or page_path_prefix")
        return self


class ScoreRule(BaseModel):
    """A predictive score within [min, max]: `{score: purchase_likelihood, min: 0.6}`."""

    model_config = ConfigDict(extra="forbid")

    score: Literal["lead_score", "churn_risk", "purchase_likelihood", "engagement_potential"]
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "ScoreRule":
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class AllRule(BaseModel):
    """Every nested rule holds."""

    model_config = ConfigDict(extra="forbid")

    all: list["Rule"] = Field(..., min_length=1)


class AnyRule(BaseModel):
    """At least one nested rule holds."""

    model_config = ConfigDict(extra="forbid")

    any: list["Rule"] = Field(..., min_length=1)


class NotRule(BaseModel):
    """The nested rule does not hold."""

    model_config = ConfigDict(extra="forbid")

    not_: "Rule" = Field(..., alias="not")


Rule = Condition | EventRule | ScoreRule | AllRule | AnyRule | NotRule
RULE_KINDS = {
    "field": Condition,
    "event": EventRule,
    "page_path_prefix": EventRule,
    "score": ScoreRule,
    "all": AllRule,
    "any": AnyRule,
    "not": NotRule,
}


def parse_rule(data: Any, path: str = "rules") -> Rule:
    """A rule tree from YAML; a RuleError names the path (rules.all[2].any[0]) and the allowed choices."""
    if not isinstance(data, dict):
        raise RuleError(f"{path}: a rule is a mapping, got {type(data).__name__}")
    kinds = {RULE_KINDS[key] for key in data if key in RULE_KINDS}
    if len(kinds) != 1:
        raise RuleError(
            f"{path}: a rule has exactly one of the keys {', '.join(RULE_KINDS)} "
            f"(got {', '.join(data) or 'none'})"
        )
    kind = kinds.pop()
    if kind in (AllRule, AnyRule):
        key = "all" if kind is AllRule else "any"
        children = data[key]
        extra = set(data) - {key}
        if extra:
            raise RuleError(f"{path}: unknown key(s) {', '.join(sorted(extra))} beside {key!r}")
        if not isinstance(children, list) or not children:
            raise RuleError(f"{path}.{key}: a non-empty list of rules")
        parsed = [parse_rule(child, f"{path}.{key}[{i}]") for i, child in enumerate(children)]
        return kind.model_validate({key: parsed})
    if kind is NotRule:
        if set(data) != {"not"}:
            raise RuleError(f"{path}: unknown key(s) beside 'not'")
        return NotRule.model_validate({"not": parse_rule(data["not"], f"{path}.not")})
    try:
        rule = kind.model_validate(data)
    except ValueError as exc:
        errors = getattr(exc, "errors", lambda: [])()
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<rule>'}: {e['msg']}" for e in errors
        ) or str(exc)
        raise RuleError(f"{path}: {details}") from None
    if isinstance(rule, Condition):
        _check_condition(rule, path)
    return rule


def _check_condition(rule: Condition, path: str) -> None:
    if rule.op not in OPERATORS:
        raise RuleError(f"{path}: unknown operator {rule.op!r}; allowed: {', '.join(OPERATORS)}")
    if rule.op in NULL_CHECKS:
        if rule.value is not None:
            raise RuleError(f"{path}: {rule.op} takes no value")
    elif rule.op in LIST_OPERATORS:
        if not isinstance(rule.value, list) or not rule.value:
            raise RuleError(f"{path}: {rule.op} needs a non-empty list as value")
    elif rule.value is None or isinstance(rule.value, list):
        raise RuleError(f"{path}: {rule.op} needs a single value")
    elif rule.op in TEXT_MATCHES and not isinstance(rule.value, str):
        raise RuleError(f"{path}: {rule.op} needs a text value")
    elif rule.op == "within_days" and (
        isinstance(rule.value, bool) or not isinstance(rule.value, int) or rule.value < 1
    ):
        raise RuleError(f"{path}: within_days needs a whole number of days >= 1")


MEMBERS_FILE_RULE = (
    "members_file must be a relative path inside the segments folder (or REVLOOP_SEGMENT_DATA_DIR): "
    "no absolute path, no '..'"
)


def members_file_rule(value: str) -> None:
    """ValueError naming the rule when a members_file could point outside its folder."""
    posix, windows = PurePosixPath(value), PureWindowsPath(value)
    if (
        not value.strip()
        or "\0" in value
        or posix.is_absolute()
        or windows.is_absolute()
        or windows.drive
        or value.startswith(("~", "\\"))
        or ".." in posix.parts
        or ".." in windows.parts
    ):
        raise ValueError(MEMBERS_FILE_RULE)


def _rules(data: Any) -> Rule | None:
    return None if data is None else parse_rule(data)


def walk(rule: Rule):
    """Every rule of a tree, the root first."""
    yield rule
    children = (
        rule.all
        if isinstance(rule, AllRule)
        else rule.any
        if isinstance(rule, AnyRule)
        else ([rule.not_] if isinstance(rule, NotRule) else [])
    )
    for child in children:
        yield from walk(child)


class Segment(BaseModel):
    """One segment: who owns it, what it is for, and which profiles belong to it."""

    model_config = ConfigDict(extra="forbid")

    name: SegmentName
    type: Literal["static", "dynamic", "predictive"]
    description: str = Field(..., min_length=1)
    owner: str = Field(..., min_length=1)
    family: Family | None = None
    rules: Any = None
    # static segments: a file of profile ids or e-mails (one a line, '#' comments), relative to the YAML file
    # (or to the data folder REVLOOP_SEGMENT_DATA_DIR); it never leaves those folders
    members_file: str | None = None
    members: list[str] | None = None
    review_by: dt.date | None = None

    @field_validator("members_file")
    @classmethod
    def _inside_folder(cls, value: str | None) -> str | None:
        if value is not None:
            members_file_rule(value)
        return value

    @model_validator(mode="after")
    def _shape(self) -> "Segment":
        self.rules = _rules(self.rules)
        if self.type == "static":
            if self.rules is not None:
                raise ValueError(
                    "a static segment lists its members (members_file / members), it has no rules"
                )
            if self.members_file is None and self.members is None:
                raise ValueError("a static segment needs members_file or members")
            if self.review_by is None:
                raise ValueError("a static segment needs review_by (the date its list must be checked again)")
        else:
            if self.members_file is not None or self.members is not None or self.review_by is not None:
                raise ValueError(
                    f"members_file / members / review_by are for static segments, not {self.type}"
                )
            if self.rules is None:
                raise ValueError(f"a {self.type} segment needs rules")
            if self.type == "predictive" and not any(isinstance(r, ScoreRule) for r in walk(self.rules)):
                raise ValueError("a predictive segment needs at least one score rule (score: ..., min/max)")
        return self


for _model in (AllRule, AnyRule, NotRule):
    _model.model_rebuild()
