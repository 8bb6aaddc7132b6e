"""Salesforce-shaped API errors: what the handlers raise and how they are rendered."""

from werkzeug.wrappers import Response

from sandbox.server import json_response


class SalesforceError(Exception):
    """An API error as Salesforce reports it: HTTP status, errorCode, message and the fields concerned."""

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields or []

    def response(self) -> Response:
        """The REST body Salesforce sends for a failed request: a list of error objects."""
        body = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            body["fields"] = self.fields
        return json_response([body], self.status)

    def save_error(self) -> dict:
        """The error as it appears inside a SaveResult of sObject Collections."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", message)


def malformed_id(value: object, field: str | None = None) -> SalesforceError:
    if field:
        return SalesforceError(400, "MALFORMED_ID", f"{field}: id value of incorrect type: {value}", [field])
    return SalesforceError(400, "MALFORMED_ID", f"malformed id {value}")


def entity_is_deleted() -> SalesforceError:
    return SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
