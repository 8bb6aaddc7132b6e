"""The retry policy every CRM client shares: exponential backoff that honours Retry-After, never a blind
retry of a POST that is not idempotent."""

import re
from types import TracebackType

from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

# Throttling and transient server failures; anything else (4xx) is the caller's to explain.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# POSTs that may be sent twice with one outcome: reads and searches, HubSpot batch update/upsert/archive
# (an upsert by a unique property finds on the second try what the first created), and logins.
IDEMPOTENT_POSTS = re.compile(
    r"(/search$|/batch/(read|update|upsert|archive)$|^/services/Soap/|^/services/oauth2/token|/oauth/v1/token)"
)


def idempotent(method: str | None, url: str | None) -> bool:
    """Whether sending this request twice does what sending it once does (POSTs on IDEMPOTENT_POSTS only)."""
    if (method or "").upper() != "POST":
        return True
    path = (url or "").split("?", 1)[0]
    return bool(IDEMPOTENT_POSTS.search(path))


class WriteSafeRetry(Retry):
    """urllib3's Retry, except that a POST creating something is retried only when the CRM surely did not
    act on it: the connection never opened, or a 429 (the CRMs process nothing they throttle).

    After a read time-out, a reset or a 5xx the CRM may have committed it: that request's error reaches
    the caller, who looks the record up before creating it again (activation.once.create_once).
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> "WriteSafeRetry":
        if not idempotent(method, url):
            if error is not None and not self._is_connection_error(error):
                raise error.with_traceback(_stacktrace)
            if error is None and response is not None and response.status != 429:
                # a 5xx: with raise_on_status off urllib3 hands this response to the caller
                raise MaxRetryError(_pool, url, ResponseError(f"{response.status} after a POST, not retried"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def retry_policy(total: int = 6, backoff_factor: float = 0.5, backoff_max: float = 60.0) -> Retry:
    """A WriteSafeRetry for 429/500/502/503/504 and connection errors on every idempotent request.

    The first retry goes at once, the n-th after backoff_factor * 2**(n-1) seconds (capped at
    backoff_max), or as long as the server's Retry-After header asks. When the attempts run out the last
    response is returned rather than raised, so the client reports the API's own error message.
    """
    return WriteSafeRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        allowed_methods=None,  # every method; WriteSafeRetry keeps creating POSTs from a blind retry
        status_forcelist=RETRYABLE_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=0.1 * backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
