"""config/automation.yml: how often the near-real-time sensors poll, what they watch, who is alerted."""

import os

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingestion.hubspot.settings import LAST_MODIFIED_PROPERTY
from ingestion.salesforce.settings import STANDARD_FIELDS
from revloop.config import ConfigError, cached

INTERVAL_VARIABLE = "REVLOOP_SENSOR_INTERVAL_S"
ALERT_EMAIL_VARIABLE = "REVLOOP_ALERT_EMAIL"
# The sObjects the two-way sync reads: a change elsewhere (Task, User) can wait for the hourly run.
SYNCED_SOBJECTS = ("Lead", "Contact", "Account", "Opportunity")


class AutomationConfig(BaseModel):
    """The whole of config/automation.yml."""

    model_config = ConfigDict(extra="forbid")

    poll_interval_seconds: int = Field(default=30, ge=1)
    alert_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    run_dbt_tests: bool = False
    salesforce_objects: list[str] = Field(default_factory=lambda: list(SYNCED_SOBJECTS), min_length=1)
    hubspot_objects: list[str] = Field(default_factory=lambda: list(LAST_MODIFIED_PROPERTY), min_length=1)

    @field_validator("salesforce_objects")
    @classmethod
    def _loaded_sobjects(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in STANDARD_FIELDS]
        if unknown:
            raise ValueError(f"{unknown} are not loaded by ingestion; known: {', '.join(STANDARD_FIELDS)}")
        return value

    @field_validator("hubspot_objects")
    @classmethod
    def _loaded_object_types(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in LAST_MODIFIED_PROPERTY]
        if unknown:
            known = ", ".join(LAST_MODIFIED_PROPERTY)
            raise ValueError(f"{unknown} are not loaded by ingestion; known: {known}")
        return value


def load_automation_config() -> AutomationConfig:
    """config/automation.yml, validated (cached per process)."""
    return cached("automation", AutomationConfig)


def poll_interval_seconds() -> int:
    """Seconds between sensor polls: REVLOOP_SENSOR_INTERVAL_S when set, else the config file's value."""
    text = (os.environ.get(INTERVAL_VARIABLE) or "").strip()
    if not text:
        return load_automation_config().poll_interval_seconds
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{INTERVAL_VARIABLE} must be a whole number of seconds (1 or more), got {text!r}")
    return int(text)


def alert_email() -> str | None:
    """The address failed runs are reported to: REVLOOP_ALERT_EMAIL when set, else the config file's."""
    return (os.environ.get(ALERT_EMAIL_VARIABLE) or "").strip() or load_automation_config().alert_email
