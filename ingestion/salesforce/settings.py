"""What the Salesforce source fetches: objects, their standard fields, the cursor and the dataset."""

DATASET_NAME = "raw_salesforce"
PIPELINE_NAME = "salesforce"
QUARANTINE_SOURCE = "salesforce"

DEFAULT_OBJECTS: tuple[str, ...] = ("Lead", "Contact", "Account", "Opportunity", "User", "Task")

# Every object's SystemModstamp moves on any change, system ones included, and is indexed: the safe cursor.
CURSOR_FIELD = "SystemModstamp"
PRIMARY_KEY = "Id"

DEFAULT_API_VERSION = "54.0"

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
}

# Compound fields (and binary ones) duplicate their components or do not belong in a warehouse row.
UNLOADABLE_FIELD_TYPES = frozenset({"address", "location", "base64"})


def table_name(object_name: str) -> str:
    """The raw table (and dlt resource) an sObject loads into: Lead -> lead."""
    return object_name.lower()
