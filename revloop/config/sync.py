"""config/sync.yml: which Salesforce and HubSpot objects and fields revloop keeps in sync, and how."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from revloop.config import cached

Crm = Literal["salesforce", "hubspot"]
Direction = Literal["both", "to_salesforce", "to_hubspot", "to_both"]
FieldType = Literal[
    "string", "number", "integer", "boolean", "date", "datetime", "picklist", "email", "domain"
]


class FieldMapping(BaseModel):
    """One mapped field: its name on each side, which way it flows and how values convert."""

    model_config = ConfigDict(extra="forbid")

    salesforce: str | None = None
    hubspot: str | None = None
    direction: Direction
    type: FieldType = "string"
    values: dict[str, str] = Field(default_factory=dict)
    # HubSpot values several of which mean one Salesforce value (HubSpot value: Salesforce value)
    from_hubspot: dict[str, str] = Field(default_factory=dict)
    # numbers are compared and written rounded to this many decimals (a score moving less is no change)
    decimals: int | None = Field(default=None, ge=0, le=6)
    # identifies a record (e-mail, phone): never replaced on an existing record by another record's value
    identifier: bool = False
    max_length: int | None = Field(default=None, gt=0)
    source: str | None = None
    only: list[str] | None = None
    unique_on: list[Crm] = Field(default_factory=list)
    on_create_only: bool = False  # written when revloop creates the record, never updated afterwards
    fill_only: bool = False  # written only where the target record holds no value (never moved)

    @model_validator(mode="after")
    def _consistent(self) -> "FieldMapping":
        targets = {"to_salesforce": ["salesforce"], "to_hubspot": ["hubspot"]}.get(
            self.direction, ["salesforce", "hubspot"]
        )
        missing = [side for side in targets if getattr(self, side) is None]
        if missing:
            raise ValueError(f"direction {self.direction} needs the field name on {', '.join(missing)}")
        if self.direction == "to_both" and not self.source:
            raise ValueError("direction to_both needs source (the customer_profiles column)")
        if self.source and self.direction == "both":
            raise ValueError("source (a warehouse value) goes one way: to_both, to_salesforce or to_hubspot")
        if self.type == "picklist" and not self.values:
            raise ValueError("type picklist needs values (Salesforce value: HubSpot value)")
        if self.from_hubspot and self.type != "picklist":
            raise ValueError("from_hubspot is for picklists only")
        # a Salesforce value sent to HubSpot must read back as itself, or the field would be written every run
        for salesforce_value, hubspot_value in self.values.items():
            back = self.from_hubspot.get(hubspot_value, salesforce_value)
            if back != salesforce_value:
                raise ValueError(
                    f"{salesforce_value!r} goes to HubSpot as {hubspot_value!r}, "
                    f"which from_hubspot reads back as {back!r}"
                )
        unknown = sorted(set(self.from_hubspot.values()) - set(self.values))
        if unknown:
            raise ValueError(f"from_hubspot names Salesforce values not in values: {', '.join(unknown)}")
        return self

    def targets(self) -> tuple[Crm, ...]:
        """The CRMs this field is written to."""
        return {"to_salesforce": ("salesforce",), "to_hubspot": ("hubspot",)}.get(
            self.direction, ("salesforce", "hubspot")
        )

    def applies_to(self, salesforce_object: str) -> bool:
        """Whether the field exists on this sObject."""
        return self.only is None or salesforce_object in self.only

    def name_on(self, crm: Crm) -> str | None:
        """The field's API name in one CRM."""
        return self.salesforce if crm == "salesforce" else self.hubspot


class CreateMissing(BaseModel):
    """Per target CRM, whether records missing there are created."""

    model_config = ConfigDict(extra="forbid")

    salesforce: bool = False
    hubspot: bool = False


class ObjectMapping(BaseModel):
    """A Salesforce sObject (or several) paired with a HubSpot object type."""

    model_config = ConfigDict(extra="forbid")

    salesforce: list[str] = Field(min_length=1)
    hubspot: str
    match: Literal["identity", "domain", "cross_id"]
    create_as: str | None = None
    create_missing: CreateMissing = Field(default_factory=CreateMissing)
    required_on_create: dict[Crm, list[str]] = Field(default_factory=dict)
    fields: list[FieldMapping] = Field(min_length=1)
    # links revloop creates for this object's records: companies (HubSpot deals and contacts: their company),
    # contacts (deals only, both ways: Opportunity contact roles <-> deal -> contact associations)
    associate: list[Literal["companies", "contacts"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _create_as_known(self) -> "ObjectMapping":
        if self.create_as is not None and self.create_as not in self.salesforce:
            raise ValueError(f"create_as {self.create_as} is not one of {self.salesforce}")
        if self.associate and self.hubspot not in ("deals", "contacts"):
            raise ValueError("associate is supported on the deals and contacts objects only")
        if "contacts" in self.associate and self.hubspot != "deals":
            raise ValueError("associate: contacts is supported on deals only (Opportunity contact roles)")
        return self

    @property
    def salesforce_create_object(self) -> str:
        """The sObject a record created in Salesforce becomes."""
        return self.create_as or self.salesforce[0]


class SyncConfig(BaseModel):
    """The whole of config/sync.yml."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=1000, gt=0)
    tie_winner: Crm = "salesforce"
    objects: dict[str, ObjectMapping]


def load_sync_config() -> SyncConfig:
    """config/sync.yml, validated (cached per process)."""
    return cached("sync", SyncConfig)
