"""describeGlobal and sObject describe bodies, built from the org's schema."""

from sandbox.salesforce.schema import SfField
from sandbox.salesforce.store import SObjectTable

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}
_PLURALS = {"Opportunity": "Opportunities"}


def _urls(table: SObjectTable, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{table.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(table: SObjectTable, version: str) -> dict:
    """One sObject as describeGlobal lists it."""
    deletable = "IsDeleted" in table.fields
    return {
        "name": table.name,
        "label": table.name,
        "labelPlural": _PLURALS.get(table.name, f"{table.name}s"),
        "keyPrefix": table.key_prefix,
        "custom": False,
        "createable": True,
        "updateable": True,
        "deletable": deletable,
        "undeletable": deletable,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "layoutable": True,
        "replicateable": True,
        "triggerable": True,
        "urls": _urls(table, version),
    }


def _relationship_name(f: SfField) -> str | None:
    if f.type != "reference":
        return None
    return f.name[:-2] if f.name.endswith("Id") else f.name.removesuffix("__c") + "__r"


def field_description(f: SfField) -> dict:
    """One field as describe reports it."""
    system = not f.updateable
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "length": f.length if f.type not in _SOAP_TYPES or f.type in ("id", "reference") else 0,
        "byteLength": f.length * 3,
        "precision": 18 if f.type in ("double", "currency", "percent") else 0,
        "scale": 2 if f.type in ("currency", "percent") else 0,
        "digits": 9 if f.type == "int" else 0,
        "custom": f.custom,
        "externalId": f.external_id,
        "unique": f.unique,
        "idLookup": f.external_id or f.type == "id",
        "nillable": f.nillable,
        "updateable": f.updateable,
        "createable": f.createable,
        "defaultedOnCreate": system or f.type == "boolean" or f.name == "OwnerId",
        "calculated": False,
        "autoNumber": False,
        "filterable": f.type != "textarea",
        "sortable": f.type != "textarea",
        "groupable": f.type not in ("textarea", "double", "datetime"),
        "nameField": f.name == "Name",
        "referenceTo": list(f.reference_to),
        "relationshipName": _relationship_name(f),
        "restrictedPicklist": False,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": value, "value": value, "validFor": None}
            for value in f.picklist
        ],
    }


def describe_global(tables: list[SObjectTable], version: str) -> dict:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(t, version) for t in tables],
    }


def describe_sobject(table: SObjectTable, version: str) -> dict:
    return {
        **object_summary(table, version),
        "fields": [field_description(f) for f in table.fields.values()],
        "childRelationships": [],
        "recordTypeInfos": [],
    }
