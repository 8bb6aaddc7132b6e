"""config/survivorship.yml: which source wins each profile attribute, and how profiles are enriched."""

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from revloop.config import cached

# HubSpot's lifecycle stages (the options of the contact property lifecyclestage)
HUBSPOT_LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
# a profile's lifecycle_stage: a CRM's stage, or visitor when no record or identifier names the person
LIFECYCLE_STAGES = (*HUBSPOT_LIFECYCLE_STAGES, "visitor")

Source = Literal["salesforce_contact", "salesforce_lead", "hubspot_contact", "event_traits"]
Attribute = Literal[
    "email",
    "phone",
    "first_name",
    "last_name",
    "company_name",
    "job_title",
    "country",
    "city",
    "industry",
    "lifecycle_stage",
    "annual_revenue",
    "employee_count",
]
SOURCES = get_args(Source)
ATTRIBUTES = get_args(Attribute)


class Rule(BaseModel):
    """How one attribute's value is chosen: `priority: [sources]` or `most_recent`."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["priority", "most_recent"]
    priority: list[Source] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # YAML says `most_recent` or `{priority: [...]}`; the explicit `rule` key is spelled out for dbt
        if data == "most_recent":
            return {"rule": "most_recent"}
        if isinstance(data, dict) and "rule" not in data and "priority" in data:
            return {"rule": "priority", **data}
        return data

    @model_validator(mode="after")
    def _priority_list(self) -> "Rule":
        if self.rule == "priority" and not self.priority:
            raise ValueError("a priority rule needs a non-empty list of sources")
        if self.rule == "most_recent" and self.priority:
            raise ValueError("most_recent takes no priority list")
        if len(set(self.priority)) != len(self.priority):
            raise ValueError("a source appears twice in the priority list")
        return self


class EngagementLevels(BaseModel):
    """Thresholds of engagement_level, in interactions within the window."""

    model_config = ConfigDict(extra="forbid")

    window_days: int = Field(90, gt=0)
    medium: int = Field(5, ge=1)
    high: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "EngagementLevels":
        if self.high <= self.medium:
            raise ValueError("high must be above medium")
        return self


class Enrichment(BaseModel):
    """Inputs of the enrichment columns of customer_profiles."""

    model_config = ConfigDict(extra="forbid")

    free_email_domains: list[str] = Field(default_factory=list)
    engagement_levels: EngagementLevels = Field(default_factory=EngagementLevels)
    max_interests: int = Field(5, ge=1, le=50)
    passive_events: list[str] = Field(default_factory=list)

    @field_validator("free_email_domains")
    @classmethod
    def _lower(cls, domains: list[str]) -> list[str]:
        return sorted({d.strip().lower() for d in domains if d.strip()})


class SurvivorshipConfig(BaseModel):
    """The whole file; `attributes` holds, after validation, the effective rule of every attribute."""

    model_config = ConfigDict(extra="forbid")

    default: Rule
    attributes: dict[Attribute, Rule] = Field(default_factory=dict)
    value_maps: dict[Attribute, dict[str, str]] = Field(default_factory=dict)
    placeholder_values: dict[Attribute, list[str]] = Field(default_factory=dict)
    enrichment: Enrichment = Field(default_factory=Enrichment)

    @field_validator("placeholder_values")
    @classmethod
    def _lower_placeholders(cls, values: dict[str, list[str]]) -> dict[str, list[str]]:
        # compared case-insensitively with trimmed values
        return {name: sorted({v.strip().lower() for v in found}) for name, found in values.items()}

    @model_validator(mode="after")
    def _complete(self) -> "SurvivorshipConfig":
        self.attributes = {name: self.attributes.get(name, self.default) for name in ATTRIBUTES}
        unknown = set(self.value_maps.get("lifecycle_stage", {}).values()) - set(LIFECYCLE_STAGES)
        if unknown:
            raise ValueError(f"value_maps.lifecycle_stage maps to unknown stages {sorted(unknown)}")
        return self


def load_survivorship_config() -> SurvivorshipConfig:
    """config/survivorship.yml of the config folder, validated (cached per process and folder)."""
    return cached("survivorship", SurvivorshipConfig)
