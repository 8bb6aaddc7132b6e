"""Secret values of the environment (tokens, passwords, write keys), masked in any text shown to a user."""

from collections.abc import Mapping

SECRET_VARIABLES = (
    "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "HUBSPOT_ACCESS_TOKEN",
    "SMTP_PASSWORD", "REVLOOP_PROFILE_API_TOKEN", "POSTGRES_PASSWORD",
)
SECRET_PREFIXES = ("REVLOOP_WRITE_KEY_",)
MASK = "***"


def secrets(env: Mapping[str, str]) -> list[str]:
    """The secret values set in env, longest first (so that one containing another is masked whole)."""
    values = [env.get(name, "") for name in SECRET_VARIABLES]
    values += [value for name, value in env.items() if name.startswith(SECRET_PREFIXES)]
    return sorted({v for v in values if len(v.strip()) >= 4}, key=len, reverse=True)


def mask(text: str, env: Mapping[str, str]) -> str:
    """text with every secret value of env replaced by ***."""
    for value in secrets(env):
        text = text.replace(value, MASK)
    return text


