"""config/survivorship.yml: which source wins each profile attribute, and how profiles are enriched."""

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from revloop.config import cached


def dlt_column(name: str) -> str:
    """The warehouse column dlt loads a CRM field into: Technologies__c -> technologies__c."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention  # slow import: only when asked

    return NamingConvention().normalize_path(name)

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

# the CRMs' records, event traits, survey answers (config enrichment.surveys), the language of a message's
# context.locale and of its context.accept_language (the Accept-Language header's preferred language), and
# the department config enrichment.department_from_title gives a stated job title
Source = Literal[
    "salesforce_contact", "salesforce_lead", "hubspot_contact", "event_traits", "survey", "context_locale",
    "accept_language", "job_title",
]
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
    "age",
    "gender",
    "language",
    "income_level",
    "department",
    "user_roles",
    "personal_values",
    "lifestyle",
    "personality",
    "communication_preference",
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


class SurveyQuestion(BaseModel):
    """One question of a survey event: the attribute its answers state, and each answer's value."""

    model_config = ConfigDict(extra="forbid")

    attribute: Attribute
    # answer as the event sends it -> the attribute's value; an answer not listed states nothing
    answers: dict[str, str] = Field(..., min_length=1)


class Surveys(BaseModel):
    """Survey answers as profile attributes: track events named `event`, one property per question."""

    model_config = ConfigDict(extra="forbid")

    event: str = "Survey Completed"
    questions: dict[str, SurveyQuestion] = Field(default_factory=dict)


class ProductUsage(BaseModel):
    """Product events: platform_usage from the platforms they come from, integration_count from the
    integrations connected and not removed since."""

    model_config = ConfigDict(extra="forbid")

    events: list[str] = Field(default_factory=list)
    integration_connected: str = "Integration Connected"
    integration_removed: str = "Integration Removed"
    integration_property: str = "integration"


class Enrichment(BaseModel):
    """Inputs of the enrichment columns of customer_profiles."""

    model_config = ConfigDict(extra="forbid")

    free_email_domains: list[str] = Field(default_factory=list)
    engagement_levels: EngagementLevels = Field(default_factory=EngagementLevels)
    max_interests: int = Field(5, ge=1, le=50)
    passive_events: list[str] = Field(default_factory=list)
    # job title (whole title, any case) -> department: the only way a title says a department
    department_from_title: dict[str, str] = Field(default_factory=dict)
    # the HubSpot contact property holding a department (HubSpot's own "job_function", or a custom one)
    hubspot_department_property: str = "job_function"
    # the Salesforce Account field holding the technologies an account uses (";"-separated), if any
    salesforce_technology_field: str | None = None
    surveys: Surveys = Field(default_factory=Surveys)
    product_usage: ProductUsage = Field(default_factory=ProductUsage)
    # bands of employee_count and annual_revenue: label -> lower bound, the highest bound not above wins
    company_size_bands: dict[str, float] = Field(default_factory=dict)
    revenue_bands: dict[str, float] = Field(default_factory=dict)
    # bands of age: label -> lower bound
    age_ranges: dict[str, int] = Field(default_factory=dict)

    # derived by validation (whatever the file says): the warehouse columns dlt loads those fields into
    hubspot_department_column: str | None = None
    salesforce_technology_column: str | None = None

    @model_validator(mode="after")
    def _columns(self) -> "Enrichment":
        self.hubspot_department_column = dlt_column(self.hubspot_department_property)
        field = self.salesforce_technology_field
        self.salesforce_technology_column = dlt_column(field) if field else None
        return self

    @field_validator("department_from_title")
    @classmethod
    def _lower_titles(cls, titles: dict[str, str]) -> dict[str, str]:
        return {title.strip().lower(): department for title, department in titles.items()}

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
