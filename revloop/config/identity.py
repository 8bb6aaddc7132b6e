"""config/identity.yml: phone normalisation, match threshold and the probabilistic model's settings."""

from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from revloop.config import cached


class ProbabilisticSettings(BaseModel):
    """Which comparisons the Fellegi-Sunter model uses and how its parameters are estimated."""

    model_config = ConfigDict(extra="forbid")

    compare_device_id: bool = True
    compare_ip_user_agent: bool = True
    compare_pages: bool = True
    compare_active_hours: bool = True
    compare_email: bool = True
    compare_customer_id: bool = True
    max_people_per_ip: int = Field(25, ge=1)
    max_people_per_device: int = Field(25, ge=1)
    em_iterations: int = Field(25, ge=1, le=500)
    u_sample_pairs: int = Field(20_000, ge=100)
    seed: int = 7


class IdentityConfig(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    default_phone_region: str = "US"
    match_threshold: float = Field(0.8, gt=0.0, le=1.0)
    ignored_emails: list[str] = Field(default_factory=list)
    ignored_phones: list[str] = Field(default_factory=list)
    shared_value_limits: dict[Literal["phone", "anonymous_id"], PositiveInt] = Field(
        default_factory=lambda: {"phone": 1, "anonymous_id": 1}
    )
    probabilistic: ProbabilisticSettings = Field(default_factory=ProbabilisticSettings)

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{region!r} is not a phone region (ISO 3166-1 alpha-2, e.g. US, GB, DE)")
        return region

    @field_validator("ignored_emails")
    @classmethod
    def _lower_emails(cls, emails: list[str]) -> list[str]:
        return sorted({e.strip().lower() for e in emails if e.strip()})


def load_identity_config() -> IdentityConfig:
    """config/identity.yml of the config folder, validated (cached per process and folder)."""
    return cached("identity", IdentityConfig)
