"""Field metadata of the sandbox Salesforce org: what describe reports for each sObject."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SfField:
    """One sObject field as describe reports it."""

    name: str
    type: str  # id, string, email, phone, url, picklist, textarea, double, currency, percent, int,
    #            boolean, date, datetime, reference
    length: int = 0
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    nillable: bool = True
    updateable: bool = True
    create_only: bool = False  # set on create, never updated (OpportunityContactRole.OpportunityId)
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()

    @property
    def createable(self) -> bool:
        """Whether a create may set the field."""
        return self.updateable or self.create_only

    @property
    def label(self) -> str:
        return self.name.removesuffix("__c").replace("_", " ")


def _system() -> list[SfField]:
    return [
        SfField("Id", "id", 18, nillable=False, updateable=False),
        SfField("IsDeleted", "boolean", nillable=False, updateable=False),
        SfField("CreatedDate", "datetime", nillable=False, updateable=False),
        SfField("CreatedById", "reference", 18, updateable=False, reference_to=("User",)),
        SfField("LastModifiedDate", "datetime", nillable=False, updateable=False),
        SfField("LastModifiedById", "reference", 18, updateable=False, reference_to=("User",)),
        SfField("SystemModstamp", "datetime", nillable=False, updateable=False),
    ]


def _owner(*owners: str) -> SfField:
    # a Lead can be owned by a queue (a Group of Type Queue with a QueueSobject for Lead); most objects not
    return SfField("OwnerId", "reference", 18, nillable=False, reference_to=owners or ("User",))


# Custom fields an admin creates once for revloop (contract.md, "CRM write-back defaults").
_SCORES = [
    SfField("Lead_Score__c", "double", custom=True),
    SfField("Churn_Risk__c", "double", custom=True),
    SfField("Purchase_Likelihood__c", "double", custom=True),
    SfField("Engagement_Potential__c", "double", custom=True),
    SfField("Segments__c", "textarea", 32768, custom=True),
]
_KEYS = [
    SfField("Revloop_Id__c", "string", 64, custom=True, external_id=True, unique=True),
    SfField("HubSpot_Id__c", "string", 64, custom=True),
]

LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
INDUSTRIES = (
    "Technology",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "Energy",
)
# OpportunityContactRole.Role, the standard values of a new org
CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
# the options of the org's Account.Technologies__c (the same as HubSpot's web_technologies in the sandbox)
TECHNOLOGIES = (
    "Google Analytics", "Google Tag Manager", "HubSpot", "Salesforce", "Segment", "Shopify", "Stripe",
    "WordPress", "Zendesk", "Intercom", "Marketo", "Hotjar",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")

STANDARD_FIELDS: dict[str, list[SfField]] = {
    "User": [
        SfField("Id", "id", 18, nillable=False, updateable=False),
        SfField("Username", "string", 80, nillable=False, unique=True),
        SfField("FirstName", "string", 40),
        SfField("LastName", "string", 80, nillable=False),
        SfField("Name", "string", 121, updateable=False),
        SfField("Email", "email", 128, nillable=False),
        SfField("IsActive", "boolean", nillable=False),
        SfField("Title", "string", 80),
        SfField("Department", "string", 80),
        SfField("Country", "string", 80),
        SfField("CreatedDate", "datetime", nillable=False, updateable=False),
        SfField("LastModifiedDate", "datetime", nillable=False, updateable=False),
        SfField("SystemModstamp", "datetime", nillable=False, updateable=False),
    ],
    "Account": _system()
    + [
        _owner(),
        SfField("Name", "string", 255, nillable=False),
        SfField("Website", "url", 255),
        SfField("Industry", "picklist", 255, picklist=INDUSTRIES),
        SfField("AnnualRevenue", "currency"),
        SfField("NumberOfEmployees", "int"),
        SfField("BillingCountry", "string", 80),
        SfField("BillingCity", "string", 40),
        SfField(
            "Type", "picklist", 255, picklist=("Prospect", "Customer - Direct", "Customer - Channel", "Other")
        ),
        # the org's own field of the technologies an account uses (enrichment.salesforce_technology_field)
        SfField("Technologies__c", "multipicklist", 4099, custom=True, picklist=TECHNOLOGIES),
    ]
    + _KEYS,
    "Lead": _system()
    + [
        _owner("Group", "User"),
        SfField("FirstName", "string", 40),
        SfField("LastName", "string", 80, nillable=False),
        SfField("Name", "string", 121, updateable=False),
        SfField("Email", "email", 80),
        SfField("Phone", "phone", 40),
        SfField("Company", "string", 255, nillable=False),
        SfField("Title", "string", 128),
        SfField("Industry", "picklist", 255, picklist=INDUSTRIES),
        SfField("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        SfField("Status", "picklist", 255, nillable=False, picklist=LEAD_STATUSES),
        SfField("Country", "string", 80),
        SfField("City", "string", 40),
        SfField("AnnualRevenue", "currency"),
        SfField("NumberOfEmployees", "int"),
        SfField("IsConverted", "boolean", nillable=False, updateable=False),
        SfField("ConvertedContactId", "reference", 18, updateable=False, reference_to=("Contact",)),
    ]
    + _SCORES
    + _KEYS,
    "Contact": _system()
    + [
        _owner(),
        SfField("AccountId", "reference", 18, reference_to=("Account",)),
        SfField("FirstName", "string", 40),
        SfField("LastName", "string", 80, nillable=False),
        SfField("Name", "string", 121, updateable=False),
        SfField("Email", "email", 80),
        SfField("Phone", "phone", 40),
        SfField("MobilePhone", "phone", 40),
        SfField("Title", "string", 128),
        SfField("Department", "string", 80),
        SfField("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        SfField("MailingCountry", "string", 80),
        SfField("MailingCity", "string", 40),
    ]
    + _SCORES
    + _KEYS,
    "Opportunity": _system()
    + [
        _owner(),
        SfField("AccountId", "reference", 18, reference_to=("Account",)),
        SfField("Name", "string", 120, nillable=False),
        SfField("StageName", "picklist", 255, nillable=False, picklist=OPPORTUNITY_STAGES),
        SfField("Amount", "currency"),
        SfField("CloseDate", "date", nillable=False),
        SfField("Probability", "percent"),
        SfField("IsClosed", "boolean", nillable=False, updateable=False),
        SfField("IsWon", "boolean", nillable=False, updateable=False),
        SfField("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        SfField("Type", "picklist", 255, picklist=("New Business", "Existing Business")),
    ]
    + _KEYS,
    "Task": _system()
    + [
        _owner(),
        SfField("WhoId", "reference", 18, reference_to=("Lead", "Contact")),
        SfField("WhatId", "reference", 18, reference_to=("Account", "Opportunity")),
        SfField("Subject", "string", 255),
        SfField("Description", "textarea", 32000),
        SfField(
            "Status", "picklist", 255, nillable=False, picklist=("Not Started", "In Progress", "Completed")
        ),
        SfField("Priority", "picklist", 255, nillable=False, picklist=("High", "Normal", "Low")),
        SfField("ActivityDate", "date"),
        SfField("IsClosed", "boolean", nillable=False, updateable=False),
        SfField("TaskSubtype", "picklist", 255, picklist=("Task", "Email", "Call")),
    ],
    # The role a Contact (never a Lead) plays on an Opportunity; one primary per Opportunity
    "OpportunityContactRole": _system()
    + [
        SfField(
            "OpportunityId", "reference", 18, nillable=False, updateable=False, create_only=True,
            reference_to=("Opportunity",),
        ),
        SfField("ContactId", "reference", 18, nillable=False, reference_to=("Contact",)),
        SfField("Role", "picklist", 40, picklist=CONTACT_ROLES),
        SfField("IsPrimary", "boolean", nillable=False),
    ],
    # Queues: a Group of Type Queue, the objects it may own (QueueSobject) and its members (GroupMember)
    "Group": [f for f in _system() if f.name != "IsDeleted"]
    + [
        SfField("Name", "string", 40, nillable=False),
        SfField("DeveloperName", "string", 80),
        SfField("Type", "picklist", 40, nillable=False, updateable=False, picklist=("Regular", "Queue")),
        SfField("Email", "email", 255),
        SfField("DoesSendEmailToMembers", "boolean", nillable=False),
    ],
    "QueueSobject": [
        SfField("Id", "id", 18, nillable=False, updateable=False),
        SfField("QueueId", "reference", 18, nillable=False, updateable=False, reference_to=("Group",)),
        SfField("SobjectType", "picklist", 40, nillable=False, updateable=False, picklist=("Lead", "Case")),
        SfField("CreatedById", "reference", 18, updateable=False, reference_to=("User",)),
        SfField("SystemModstamp", "datetime", nillable=False, updateable=False),
    ],
    "GroupMember": [
        SfField("Id", "id", 18, nillable=False, updateable=False),
        SfField("GroupId", "reference", 18, nillable=False, updateable=False, reference_to=("Group",)),
        SfField(
            "UserOrGroupId", "reference", 18, nillable=False, updateable=False, reference_to=("User", "Group")
        ),
        SfField("SystemModstamp", "datetime", nillable=False, updateable=False),
    ],
}

# Three-character key prefix of each object's record ids, as in a real org.
KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "User": "005",
    "Task": "00T",
    "OpportunityContactRole": "00K",
    "Group": "00G",
    "QueueSobject": "03g",
    "GroupMember": "011",
}


def fields(object_name: str, *, with_revloop_fields: bool = True) -> list[SfField]:
    """Fields of one object; without revloop's custom fields for an org whose admin has not added them."""
    all_fields = STANDARD_FIELDS[object_name]
    return [f for f in all_fields if with_revloop_fields or not f.custom]
