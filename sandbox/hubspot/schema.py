"""Property metadata of the sandbox HubSpot portal: what the properties API reports per object type."""

from dataclasses import dataclass

from revloop.config.survivorship import HUBSPOT_LIFECYCLE_STAGES
from sandbox.salesforce.schema import TECHNOLOGIES


@dataclass(frozen=True)
class HsProperty:
    """One CRM property as GET /crm/v3/properties/{objectType} reports it."""

    name: str
    type: str = "string"  # string, number, date, datetime, enumeration, bool
    field_type: str = "text"  # text, textarea, number, date, select, booleancheckbox, calculation_read_only
    options: tuple[str, ...] = ()
    group_name: str = "revloop"
    hubspot_defined: bool = True
    modification_allowed: bool = True
    label_text: str | None = None  # set for properties created through the API
    has_unique_value: bool = False

    @property
    def label(self) -> str:
        return self.label_text or self.name.replace("_", " ").capitalize()


LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
)
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
INDUSTRIES = (
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "MACHINERY",
    "RETAIL",
    "EDUCATION_MANAGEMENT",
    "MEDIA_PRODUCTION",
    "OIL_ENERGY",
)


def _read_only(name: str, type_: str = "datetime") -> HsProperty:
    return HsProperty(name, type_, "calculation_read_only", modification_allowed=False)


# Every object carries these; HubSpot maintains them. hs_merged_object_ids lists, ";"-separated, the ids
# of the records merged into this one (every earlier merge included).
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
_SYSTEM = [
    _read_only("hs_object_id", "number"),
    _read_only("createdate"),
    _read_only("hs_lastmodifieddate"),
    HsProperty(MERGED_IDS_PROPERTY, "enumeration", "checkbox", modification_allowed=False),
]

PROPERTIES: dict[str, list[HsProperty]] = {
    "contacts": _SYSTEM
    + [
        _read_only("lastmodifieddate"),
        HsProperty("email"),
        HsProperty("firstname"),
        HsProperty("lastname"),
        HsProperty("phone"),
        HsProperty("mobilephone"),
        HsProperty("company"),
        HsProperty("jobtitle"),
        HsProperty("job_function"),
        HsProperty("industry"),
        HsProperty("country"),
        HsProperty("city"),
        HsProperty("website"),
        HsProperty("lifecyclestage", "enumeration", "select", HUBSPOT_LIFECYCLE_STAGES),
        HsProperty("hs_lead_status", "enumeration", "select", LEAD_STATUSES),
        HsProperty("hubspot_owner_id", "enumeration", "select"),
    ],
    "companies": _SYSTEM
    + [
        HsProperty("name"),
        HsProperty("domain"),
        HsProperty("industry", "enumeration", "select", INDUSTRIES),
        HsProperty("annualrevenue", "number", "number"),
        HsProperty("numberofemployees", "number", "number"),
        HsProperty("country"),
        HsProperty("city"),
        HsProperty("lifecyclestage", "enumeration", "select", HUBSPOT_LIFECYCLE_STAGES),
        HsProperty("hubspot_owner_id", "enumeration", "select"),
        # technologies HubSpot detects on the company's website, ";"-separated
        HsProperty("web_technologies", "enumeration", "checkbox", TECHNOLOGIES),
    ],
    "deals": _SYSTEM
    + [
        HsProperty("dealname"),
        HsProperty("amount", "number", "number"),
        HsProperty("dealstage", "enumeration", "select", DEAL_STAGES),
        HsProperty("pipeline", "enumeration", "select", ("default",)),
        HsProperty("closedate", "datetime", "date"),
        HsProperty("hubspot_owner_id", "enumeration", "select"),
    ],
    "tasks": _SYSTEM
    + [
        HsProperty("hs_timestamp", "datetime", "date"),
        HsProperty("hs_task_subject"),
        HsProperty("hs_task_body", field_type="textarea"),
        HsProperty(
            "hs_task_status", "enumeration", "select", ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED")
        ),
        HsProperty("hs_task_priority", "enumeration", "select", ("LOW", "MEDIUM", "HIGH")),
        HsProperty("hs_task_type", "enumeration", "select", ("CALL", "EMAIL", "TODO")),
        HsProperty("hubspot_owner_id", "enumeration", "select"),
    ],
}

# The property holding each object's last-modified time, which search filters and sorts on.
LAST_MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "tasks": "hs_lastmodifieddate",
}
