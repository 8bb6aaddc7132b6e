"""The outcome of sending planned record writes (as activation.sync_log records it), and the batching every
CRM writer shares: batches of a size, a refused batch split till the bad records stand alone."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from activation.plan import RecordWrite

Item = TypeVar("Item")
Result = TypeVar("Result")
# The ids of the records a CRM holds already for the given creates (None where it holds none).
Held = Callable[[Sequence[RecordWrite]], list[str | None]]


@dataclass
class WriteResult:
    """One record write as the CRM answered it: the record id (new for creates) or the error."""

    write: RecordWrite
    # created | updated | refused (by the CRM: per record, or a request of it alone) | failed | skipped
    status: str
    record_id: str | None = None
    error: str | None = None


def isolate(
    items: Sequence[Item],
    send: Callable[[Sequence[Item]], list[Result]],
    fail: Callable[[Item, str], Result],
) -> list[Result]:
    """send(items); when the whole request is refused, split it in halves till the bad records stand alone
    (fail then gives each its result)."""
    try:
        return send(items)
    except RequestRefused as exc:
        if len(items) == 1:
            return [fail(items[0], str(exc))]
        middle = len(items) // 2
        return isolate(items[:middle], send, fail) + isolate(items[middle:], send, fail)


def send_batches(
    groups: Iterable[Sequence[Item]],
    size: int,
    send: Callable[[Sequence[Item]], list[Result]],
    fail: Callable[[Item, str], Result],
) -> list[Result]:
    """Each group sent in batches of size, each isolated; on CrmAccessDenied exc.sent is what landed."""
    results: list[Result] = []
    for group in groups:
        for start in range(0, len(group), size):
            try:
                results += isolate(group[start : start + size], send, fail)
            except CrmAccessDenied as exc:
                exc.sent = list(results)  # what landed before the refusal still gets logged and remembered
                raise
    return results


def refuse(write: RecordWrite, error: str) -> WriteResult:
    """The result of a write whose request, of it alone, the CRM refused."""
    return WriteResult(write, "refused", write.record_id, error)


class RequestRefused(Exception):
    """A CRM refused a whole batch request for something in its records (a 4xx, not a limit or outage)."""


class CrmAccessDenied(Exception):
    """A CRM answered 401/403: every further write would be refused too, so that CRM's write-back stops."""

    def __init__(self, crm: str, status: int, detail: str):
        self.crm = crm
        self.sent: list = []  # results of the same call that landed before the refusal
        super().__init__(
            f"{crm} answered {status} to revloop: write-back to {crm} stopped for this run. A 401 means the "
            "credentials are wrong or expired; a 403 missing write permissions or scopes, or an exhausted "
            f"API limit. {detail[:300]}"
        )
