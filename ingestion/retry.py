"""The retry policy every CRM client shares: exponential backoff that honours Retry-After."""

from urllib3.util.retry import Retry

# Throttling and transient server failures; anything else (4xx) is the caller's to explain.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_policy(total: int = 6, backoff_factor: float = 0.5, backoff_max: float = 60.0) -> Retry:
    """A urllib3 Retry for 429/500/502/503/504 and connection errors on every method, POST included.

    The first retry goes at once, the n-th after backoff_factor * 2**(n-1) seconds (capped at
    backoff_max), or as long as the server's Retry-After header asks. When the attempts run out the last
    response is returned rather than raised, so the client reports the API's own error message.
    """
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        allowed_methods=None,  # every method: HubSpot search is a POST, and writes are idempotent upserts
        status_forcelist=RETRYABLE_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=0.1 * backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
