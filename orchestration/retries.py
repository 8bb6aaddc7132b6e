"""The retry policy of steps that talk to a CRM: transient failures run again after a pause, others not."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Backoff, Failure, Jitter, RetryPolicy

from ingestion.transient import is_transient

# After the HTTP clients' own retries (about 30 s of back-off) a CRM or the network is still failing:
# three more attempts of the whole step, 10, 20 and 40 s (+-) later.
CRM_RETRY_POLICY = RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


@contextmanager
def retried_only_if_transient() -> Iterator[None]:
    """Lets transient errors through to the retry policy; any other error fails the step for good."""
    try:
        yield
    except Exception as error:
        if is_transient(error):
            raise
        raise Failure(
            description=f"{type(error).__name__}: {error} (not transient: the step is not retried)",
            allow_retries=False,
        ) from error
