"""config/scoring.yml: lead scoring; fit points from profile attributes, behaviour points from events."""

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from revloop.config import cached

# Punctuation that separates words in a title: dbt translates the same characters to spaces before matching
# keywords, so keywords are normalised with the same set here.
KEYWORD_SEPARATORS = ",.;:/-&()[]|+_!?#*"
_SEPARATOR_RUN = re.compile(r"[\s" + re.escape(KEYWORD_SEPARATORS) + r"]+")
# The factor dbt adds when the behaviour points of a profile exceed behavior.max_points.
CAP_FACTOR = "cap"

# columns of int_profiles_enriched that rules may test; the first five are text, the others numbers
Attribute = Literal[
    "job_title", "industry", "country", "lifecycle_stage", "email_domain", "employee_count", "annual_revenue"
]
TEXT_ATTRIBUTES = ("job_title", "industry", "country", "lifecycle_stage", "email_domain")
FactorName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Points = Annotated[StrictInt, Field(ge=-10_000, le=10_000)]


def normalise_keyword(keyword: str) -> str:
    """A keyword as dbt compares it: lower case, punctuation and runs of spaces as one space."""
    return " ".join(_SEPARATOR_RUN.split(keyword.lower())).strip()


class FitRule(BaseModel):
    """Points for profiles whose attribute has one of `keywords` (whole words), one of `values`, or lies in
    [min, max)."""

    model_config = ConfigDict(extra="forbid")

    name: FactorName
    points: Points
    keywords: list[str] | None = Field(None, min_length=1)
    values: list[str] | None = Field(None, min_length=1)
    min: float | None = None
    max: float | None = None

    @field_validator("keywords")
    @classmethod
    def _normalise_keywords(cls, keywords: list[str] | None) -> list[str] | None:
        if keywords is None:
            return None
        normalised = [normalise_keyword(k) for k in keywords]
        if not all(normalised):
            raise ValueError("a keyword is empty (or only punctuation)")
        return list(dict.fromkeys(normalised))

    @field_validator("values")
    @classmethod
    def _normalise_values(cls, values: list[str] | None) -> list[str] | None:
        # compared case-insensitively with the trimmed attribute
        if values is None:
            return None
        normalised = [v.strip().lower() for v in values]
        if not all(normalised):
            raise ValueError("a value is empty")
        return list(dict.fromkeys(normalised))

    @model_validator(mode="after")
    def _one_matcher(self) -> "FitRule":
        given = [kind for kind, used in (
            ("keywords", self.keywords is not None),
            ("values", self.values is not None),
            ("min/max", self.min is not None or self.max is not None),
        ) if used]
        if len(given) != 1:
            raise ValueError(
                f"rule {self.name!r} needs exactly one of keywords, values or min/max (got {given})"
            )
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"rule {self.name!r}: min ({self.min}) must be below max ({self.max})")
        return self

    @property
    def matcher(self) -> str:
        """keywords, values or range."""
        return "keywords" if self.keywords else "values" if self.values else "range"


class FitGroup(BaseModel):
    """Rules over one profile attribute; `first` awards only the first matching rule, `all` every match."""

    model_config = ConfigDict(extra="forbid")

    attribute: Attribute
    match: Literal["first", "all"] = "first"
    rules: list[FitRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules_fit_attribute(self) -> "FitGroup":
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names repeat: {sorted({n for n in names if names.count(n) > 1})}")
        text = self.attribute in TEXT_ATTRIBUTES
        for rule in self.rules:
            if text and rule.matcher == "range":
                raise ValueError(f"rule {rule.name!r}: {self.attribute} is text, use keywords or values")
            if not text and rule.matcher != "range":
                raise ValueError(f"rule {rule.name!r}: {self.attribute} is a number, use min and/or max")
        return self


class EventRule(BaseModel):
    """Points per touchpoint: track events in `event_names`, or page views under `page_path_prefixes`."""

    model_config = ConfigDict(extra="forbid")

    name: FactorName
    points: Points
    event_names: list[str] | None = Field(None, min_length=1)
    page_path_prefixes: list[str] | None = Field(None, min_length=1)
    max_points: StrictInt | None = Field(None, ge=0)

    @field_validator("event_names")
    @classmethod
    def _strip_event_names(cls, names: list[str] | None) -> list[str] | None:
        # dbt compares them case-insensitively: senders vary in case ("Demo requested")
        if names is None:
            return None
        normalised = [n.strip() for n in names]
        if not all(normalised):
            raise ValueError("an event name is empty")
        return list(dict.fromkeys(normalised))

    @field_validator("page_path_prefixes")
    @classmethod
    def _paths(cls, prefixes: list[str] | None) -> list[str] | None:
        if prefixes is None:
            return None
        if not all(p.startswith("/") for p in prefixes):
            raise ValueError("a page path prefix starts with '/' (use '/' for every page)")
        return list(dict.fromkeys(prefixes))

    @model_validator(mode="after")
    def _one_matcher(self) -> "EventRule":
        if (self.event_names is None) == (self.page_path_prefixes is None):
            raise ValueError(f"event {self.name!r} needs exactly one of event_names or page_path_prefixes")
        return self


class BehaviorConfig(BaseModel):
    """Event points decayed by age (points * 0.5 ** (age_days / half_life_days)), capped per rule and overall.

    Each touchpoint counts for the first rule in `events` it matches."""

    model_config = ConfigDict(extra="forbid")

    half_life_days: float = Field(gt=0)
    max_points: StrictInt | None = Field(None, ge=0)
    events: list[EventRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> "BehaviorConfig":
        names = [rule.name for rule in self.events]
        if len(set(names)) != len(names):
            raise ValueError(f"event rule names repeat: {sorted({n for n in names if names.count(n) > 1})}")
        if CAP_FACTOR in names:
            raise ValueError(f"{CAP_FACTOR!r} is reserved for the overall cap factor")
        return self


class ScoringConfig(BaseModel):
    """The whole file: lead_score = fit points + behaviour points; sales-ready at sales_ready_threshold."""

    model_config = ConfigDict(extra="forbid")

    sales_ready_threshold: StrictInt = Field(gt=0)
    fit: dict[FactorName, FitGroup] = Field(default_factory=dict)
    behavior: BehaviorConfig


def load_scoring_config() -> ScoringConfig:
    """config/scoring.yml of the config folder, validated (cached per process and folder)."""
    return cached("scoring", ScoringConfig)
