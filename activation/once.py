"""Creates that must happen exactly once although their POST is not idempotent (tasks, properties,
associations): after a failure that leaves it open whether the CRM committed, look before creating again."""

import time
from collections.abc import Callable
from typing import TypeVar

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

Created = TypeVar("Created")


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed request may have been committed all the same: a time-out, a reset or a 5xx."""
    if isinstance(exc, requests.RequestException | Urllib3Error | ConnectionError | TimeoutError):
        return True
    # hubspot-api-client's ApiException (one class per API module) and simple-salesforce's SalesforceError
    status = getattr(exc, "status", None)
    return isinstance(status, int) and status >= 500


def create_once(
    create: Callable[[], Created],
    find: Callable[[], Created | None],
    attempts: int = 3,
    backoff_s: float = 0.5,
) -> Created:
    """create(); when it fails ambiguously, find() what it may have created and create again only if absent.

    find returns the created thing (as create would have) or None. Errors that are not ambiguous (a 4xx)
    and the last attempt's error are raised.
    """
    for attempt in range(attempts - 1):
        try:
            return create()
        except Exception as exc:
            if not is_ambiguous(exc):
                raise
        time.sleep(backoff_s * 2**attempt)
        found = find()
        if found is not None:
            return found
    return create()
