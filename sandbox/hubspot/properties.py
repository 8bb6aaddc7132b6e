"""The portal's property definitions per object type and the validation of property writes."""

import json
from dataclasses import replace
from typing import Any

from sandbox.hubspot.errors import HubSpotError, validation_error
from sandbox.hubspot.schema import PROPERTIES, HsProperty
from sandbox.hubspot.timestamps import iso_ms, parse_moment

PROPERTY_TYPES = {
    "string": {"text", "textarea", "phonenumber", "html", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}
_CALCULATED = "calculation_read_only"

# What GET /crm/v3/objects/{type} returns when no properties are asked for.
DEFAULT_PROPERTIES = {
    "contacts": ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"),
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": (
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "tasks": (
        "hs_task_subject",
        "hs_task_status",
        "hs_timestamp",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
}


class PropertyRegistry:
    """Property definitions of one portal: HubSpot's built-ins plus those created through the API."""

    def __init__(self, created_at: str) -> None:
        self._created_at = created_at
        self._by_type: dict[str, dict[str, HsProperty]] = {
            object_type: {p.name: p for p in props} for object_type, props in PROPERTIES.items()
        }
        # HubSpot keeps contact e-mails unique even though the property is not flagged so.
        self._unique_names = {"contacts": {"email"}}
        self._timestamps: dict[tuple[str, str], str] = {}

    def all(self, object_type: str) -> list[HsProperty]:
        return list(self._by_type[object_type].values())

    def get(self, object_type: str, name: str) -> HsProperty | None:
        return self._by_type[object_type].get(name)

    def unique_names(self, object_type: str) -> set[str]:
        """Properties whose values identify a record (usable as idProperty)."""
        flagged = {p.name for p in self._by_type[object_type].values() if p.has_unique_value}
        return flagged | self._unique_names.get(object_type, set()) | {"hs_object_id"}

    def create(self, object_type: str, body: dict[str, Any], now: str) -> HsProperty:
        """Define a new property from a POST /crm/v3/properties body."""
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise validation_error(f"Missing required fields: {', '.join(missing)}")
        name, type_, field_type = body["name"], body["type"], body["fieldType"]
        if name in self._by_type[object_type]:
            raise HubSpotError(
                409,
                f"Property named '{name}' already exists.",
                "OBJECT_ALREADY_EXISTS",
                subCategory="PropertyCrudError.PROPERTY_EXISTS",
            )
        if not name.replace("_", "").isalnum() or name != name.lower() or not name[0].isalpha():
            raise validation_error(
                f"Property name '{name}' must be lower case letters, digits and underscores."
            )
        if type_ not in PROPERTY_TYPES:
            raise validation_error(
                f"Invalid property type '{type_}'. Valid types are {sorted(PROPERTY_TYPES)}."
            )
        if field_type not in PROPERTY_TYPES[type_]:
            raise validation_error(f"Field type '{field_type}' is not valid for property type '{type_}'.")
        options = tuple(str(o["value"]) for o in body.get("options") or [])
        if type_ == "enumeration" and not options:
            raise validation_error("Enumeration properties need at least one option.")
        prop = HsProperty(
            name,
            type_,
            field_type,
            options,
            group_name=body["groupName"],
            hubspot_defined=False,
            label_text=body["label"],
            has_unique_value=bool(body.get("hasUniqueValue")),
        )
        self._by_type[object_type][name] = prop
        self._timestamps[(object_type, name)] = now
        return prop

    def as_json(self, object_type: str, prop: HsProperty) -> dict[str, Any]:
        """A property as GET /crm/v3/properties returns it."""
        stamp = self._timestamps.get((object_type, prop.name), self._created_at)
        return {
            "name": prop.name,
            "label": prop.label,
            "type": prop.type,
            "fieldType": prop.field_type,
            "description": "",
            "groupName": prop.group_name,
            "options": [
                {"label": o.replace("_", " ").capitalize(), "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(prop.options)
            ],
            "displayOrder": -1,
            "calculated": prop.field_type == _CALCULATED,
            "externalOptions": False,
            "hasUniqueValue": prop.has_unique_value,
            "hidden": False,
            "hubspotDefined": prop.hubspot_defined,
            "modificationMetadata": {
                "archivable": not prop.hubspot_defined,
                "readOnlyDefinition": prop.hubspot_defined,
                "readOnlyValue": not prop.modification_allowed,
            },
            "formField": prop.modification_allowed,
            "dataSensitivity": "non_sensitive",
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }

    def clean_write(self, object_type: str, values: dict[str, Any]) -> dict[str, str | None]:
        """Validated, normalised property values of a create or update, or a 400 listing every bad one."""
        problems, cleaned = [], {}
        for name, value in (values or {}).items():
            prop = self.get(object_type, name)
            if prop is None:
                problems.append(_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            elif not prop.modification_allowed:
                problems.append(
                    _problem(
                        name, "READ_ONLY_VALUE", f"{name} is a read only property; its value cannot be set."
                    )
                )
            else:
                try:
                    cleaned[name] = _normalise(prop, value)
                except ValueError as exc:
                    problems.append(_problem(name, exc.args[0], exc.args[1]))
        if problems:
            raise validation_error(
                f"Property values were not valid: {json.dumps(problems)}",
                errors=[_error_entry(p) for p in problems],
            )
        return cleaned

    def with_options(self, object_type: str, name: str, options: tuple[str, ...]) -> None:
        """Replace a property's options (owners feed hubspot_owner_id's choices)."""
        self._by_type[object_type][name] = replace(self._by_type[object_type][name], options=options)


def _normalise(prop: HsProperty, value: Any) -> str | None:
    """A written value as HubSpot stores it (every value is a string), or ValueError(code, message)."""
    if value is None or value == "":
        return None if value is None else ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if prop.type == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("INVALID_FLOAT", f"{text!r} was not a valid number.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("INVALID_FLOAT", f"{text!r} was not a valid number.")
        return text
    if prop.type in ("datetime", "date"):
        try:
            moment = parse_moment(text)
        except ValueError:
            raise ValueError(
                "INVALID_DATE", f"{text!r} was not a valid date or epoch milliseconds."
            ) from None
        return iso_ms(moment) if prop.type == "datetime" else moment.date().isoformat()
    if prop.type == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError("INVALID_BOOLEAN", f"{text!r} was not a valid boolean.")
        return text.lower()
    if prop.type == "enumeration" and prop.options:
        chosen = text.split(";") if prop.field_type == "checkbox" else [text]
        bad = [c for c in chosen if c not in prop.options]
        if bad:
            raise ValueError(
                "INVALID_OPTION", f"{bad[0]} was not one of the allowed options: {', '.join(prop.options)}"
            )
    return text


def _problem(name: str, error: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    }


def _error_entry(problem: dict[str, Any]) -> dict[str, Any]:
    return {
        "message": problem["message"],
        "code": problem["error"],
        "context": {"propertyName": [problem["name"]]},
    }
