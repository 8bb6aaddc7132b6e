"""HubSpot's error bodies: {"status": "error", "message", "correlationId", "category", ...}."""

import uuid
from typing import Any

from werkzeug.wrappers import Response

from sandbox.server import json_response


class HubSpotError(Exception):
    """An API error a handler raises; the emulator turns it into HubSpot's error response."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.category, **self.extra)

    def response(self) -> Response:
        return json_response(self.body(), self.status)


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """The JSON HubSpot sends with an error."""
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def validation_error(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, message, "VALIDATION_ERROR", **extra)


def not_found(message: str) -> HubSpotError:
    return HubSpotError(404, message, "OBJECT_NOT_FOUND")
