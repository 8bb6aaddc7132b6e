"""Creates that must happen exactly once although their POST is not idempotent (tasks, properties,
associations): after a failure that leaves it open whether the CRM committed, look before creating again."""

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

Created = TypeVar("Created")
Item = TypeVar("Item")
Result = TypeVar("Result")


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


def create_each_once(
    items: Sequence[Item],
    create: Callable[[Sequence[Item]], list[Result]],
    held: Callable[[Sequence[Item]], list[str | None]] | None,
    found: Callable[[Item, str], Result],
) -> list[Result]:
    """create(items) -> their results in order, each item created once: after an ambiguous failure held(the
    items not yet answered) gives the id of each one the CRM holds (found(item, id) its result) and only the
    others are created again. Without held an ambiguous failure is raised."""
    done: dict[int, Result] = {}

    def pending() -> list[int]:
        return [i for i in range(len(items)) if i not in done]

    def attempt() -> list[Result]:
        todo = pending()
        done.update(zip(todo, create([items[i] for i in todo]), strict=True))
        return [done[i] for i in range(len(items))]

    if held is None:
        return attempt()

    def find() -> list[Result] | None:
        todo = pending()
        for i, record_id in zip(todo, held([items[i] for i in todo]), strict=True):
            if record_id:
                done[i] = found(items[i], record_id)
        return None if pending() else [done[i] for i in range(len(items))]

    return create_once(attempt, find)
