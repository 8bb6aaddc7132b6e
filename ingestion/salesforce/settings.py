"""What the Salesforce source fetches: objects, their standard fields, the cursor and the dataset."""

DATASET_NAME = "raw_salesforce"
PIPELINE_NAME = "salesforce"
QUARANTINE_SOURCE = "salesforce"

DEFAULT_OBJECTS: tuple[str, ...] = (
    "Lead", "Contact", "Account", "Opportunity", "User", "Task", "OpportunityContactRole",
)

# Every object's SystemModstamp moves on any change, system ones included, and is indexed: the safe cursor.
CURSOR_FIELD = "SystemModstamp"
PRIMARY_KEY = "Id"
# Each delta read starts this long before the last cursor: a record committed late with an older
# SystemModstamp (a long transaction, a workflow update) is still read; the merge on Id drops the overlap.
LOOKBACK_SECONDS = 300.0

DEFAULT_API_VERSION = "54.0"

# raw_salesforce table of the records Get Deleted lists (recycle bin and hard deletes), merged on id.
DELETED_TABLE = "deleted_records"
# Get Deleted refuses a start more than 30 days back; a day's margin against clock skew.
DELETED_MAX_SPAN_DAYS = 29

_SYSTEM = [
    "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", CURSOR_FIELD,
]

# Standard fields every org has. Custom (__c) fields are not listed: describe adds whatever the org has.
STANDARD_FIELDS: dict[str, list[str]] = {
    "User": [
        "Id", "Username", "FirstName", "LastName", "Name", "Email", "IsActive", "Title", "Department",
        "Country", "CreatedDate", "LastModifiedDate", CURSOR_FIELD,
    ],
    "Account": _SYSTEM + [
        "OwnerId", "Name", "Website", "Industry", "AnnualRevenue", "NumberOfEmployees", "BillingCountry",
        "BillingCity", "Type",
    ],
    "Lead": _SYSTEM + [
        "OwnerId", "FirstName", "LastName", "Name", "Email", "Phone", "Company", "Title", "Industry",
        "LeadSource", "Status", "Country", "City", "AnnualRevenue", "NumberOfEmployees", "IsConverted",
        "ConvertedContactId",
    ],
    "Contact": _SYSTEM + [
        "OwnerId", "AccountId", "FirstName", "LastName", "Name", "Email", "Phone", "MobilePhone", "Title",
        "Department", "LeadSource", "MailingCountry", "MailingCity",
    ],
    "Opportunity": _SYSTEM + [
        "OwnerId", "AccountId", "Name", "StageName", "Amount", "CloseDate", "Probability", "IsClosed",
        "IsWon", "LeadSource", "Type",
    ],
    "Task": _SYSTEM + [
        "OwnerId", "WhoId", "WhatId", "Subject", "Description", "Status", "Priority", "ActivityDate",
        "IsClosed", "TaskSubtype",
    ],
    # The Contacts playing a role on an Opportunity (deal contacts); it has no owner of its own.
    "OpportunityContactRole": _SYSTEM + ["OpportunityId", "ContactId", "Role", "IsPrimary"],
}

# Compound fields (and binary ones) duplicate their components or do not belong in a warehouse row.
UNLOADABLE_FIELD_TYPES = frozenset({"address", "location", "base64"})


def table_name(object_name: str) -> str:
    """The raw table (and dlt resource) an sObject loads into: Lead -> lead."""
    return object_name.lower()
