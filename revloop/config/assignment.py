"""config/assignment.yml: the rules, in order, that pick the rep a handed-off lead goes to."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from revloop.config import cached

Rule = Literal["territory", "skill", "workload", "round_robin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Territory(_Strict):
    """Leads from these countries or industries go to the reps of team (or the reps listed)."""

    name: str
    countries: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)
    team: str | None = None
    reps: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> "Territory":
        if not self.countries and not self.industries:
            raise ValueError("a territory needs countries or industries")
        if not self.team and not self.reps:
            raise ValueError("a territory needs team (a rep department) or reps (e-mails)")
        return self


class Skills(_Strict):
    products: list[str] = Field(default_factory=list)
    reps: dict[str, list[str]] = Field(default_factory=dict)


class Workload(_Strict):
    open_lead_weight: float = Field(default=1, ge=0)
    pipeline_per_point: float = Field(default=50000, gt=0)
    tolerance: float = Field(default=0, ge=0)


class AssignmentConfig(_Strict):
    """The whole of config/assignment.yml."""

    # standard (time-trigger) handoffs: a Salesforce Queue (DeveloperName or Name) owns the Lead; a HubSpot
    # team (name or id, /crm/v3/owners teams) narrows the reps the rules pick from
    queues: dict[Literal["salesforce", "hubspot"], str] = Field(default_factory=dict)
    order: list[Rule] = Field(default_factory=lambda: ["territory", "skill", "workload", "round_robin"])
    exclude: list[str] = Field(default_factory=list)
    territories: list[Territory] = Field(default_factory=list)
    skills: Skills = Field(default_factory=Skills)
    workload: Workload = Field(default_factory=Workload)

    @field_validator("order")
    @classmethod
    def _round_robin_last(cls, order: list[Rule]) -> list[Rule]:
        if len(set(order)) != len(order):
            raise ValueError("a rule is listed twice")
        if not order or order[-1] != "round_robin":
            raise ValueError("round_robin must be the last rule: it always decides among the reps left")
        return order


def load_assignment_config() -> AssignmentConfig:
    """config/assignment.yml, validated (cached per process)."""
    return cached("assignment", AssignmentConfig)
