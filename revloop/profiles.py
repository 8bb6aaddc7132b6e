"""The contract columns of marts.customer_profiles (contract.md), read once from the dbt model's YAML."""

import functools
from dataclasses import dataclass

import yaml

from revloop.dbt import DBT_PROJECT_DIR

PROFILES_YML = DBT_PROJECT_DIR / "models" / "marts" / "_profiles__marts.yml"
KINDS = ("key", "attribute", "score", "seen")


@dataclass(frozen=True)
class ProfileContract:
    """The contract columns in the model's order, and by kind (each column's meta `contract`)."""

    columns: tuple[str, ...]
    kinds: dict[str, str]

    def of(self, *kinds: str) -> tuple[str, ...]:
        """The contract columns of the given kinds, in the model's order."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown contract kinds {sorted(unknown)}: one of {', '.join(KINDS)}")
        return tuple(c for c in self.columns if self.kinds[c] in kinds)

    @property
    def attributes(self) -> tuple[str, ...]:
        """Person attributes chosen by survivorship (email ... lifecycle_stage)."""
        return self.of("attribute")

    @property
    def scores(self) -> tuple[str, ...]:
        """lead_score and the models' scores."""
        return self.of("score")

    @property
    def traits(self) -> tuple[str, ...]:
        """What the profile API serves as traits: the attributes and when the person was first/last seen."""
        return self.of("attribute", "seen")


@functools.cache
def profile_contract() -> ProfileContract:
    """customer_profiles' contract columns, from the `contract` meta of its columns in the dbt YAML."""
    models = yaml.safe_load(PROFILES_YML.read_text())["models"]
    [model] = [m for m in models if m["name"] == "customer_profiles"]
    kinds = {}
    for column in model["columns"]:
        kind = (column.get("config") or {}).get("meta", {}).get("contract")
        if kind is None:
            continue
        if kind not in KINDS:
            raise ValueError(f"{PROFILES_YML}: {column['name']}: contract {kind!r} is not one of {KINDS}")
        kinds[column["name"]] = kind
    return ProfileContract(tuple(kinds), kinds)
