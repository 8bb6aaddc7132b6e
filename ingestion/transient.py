"""Which errors of a CRM or warehouse step are transient (worth running the step again after a pause)."""

from collections.abc import Iterator

import requests
import urllib3.exceptions

from ingestion.retry import RETRYABLE_STATUSES
from revloop.warehouse import WarehouseLocked, is_lock_error

# Network failures that outlived the HTTP clients' own retries.
_NETWORK = (
    ConnectionError,
    TimeoutError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    urllib3.exceptions.MaxRetryError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,
)


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and every error behind it (__cause__, __context__, and dlt's wrapped `exception`)."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "exception", None)
        pending += [current.__cause__, current.__context__,
                    wrapped if isinstance(wrapped, BaseException) else None]


def _status(error: BaseException) -> int | None:
    # hubspot-api-client's ApiException (one class per API module) and simple-salesforce's SalesforceError
    # both carry the HTTP status as `status`
    status = getattr(error, "status", None)
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """Whether anything behind the error is a network failure, a throttled or failing CRM (429, 5xx) or a
    warehouse another process held too long. Credentials refused (401/403), validation errors and bugs are
    not: running again would fail the same way."""
    for cause in causes(error):
        status = _status(cause)
        if status is not None and status not in RETRYABLE_STATUSES:
            return False
    return any(
        isinstance(cause, _NETWORK + (WarehouseLocked,)) or is_lock_error(cause)
        or _status(cause) in RETRYABLE_STATUSES
        for cause in causes(error)
    )
