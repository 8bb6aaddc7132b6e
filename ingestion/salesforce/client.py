"""The connection to a Salesforce org: credentials, the retrying HTTPS session, describe and paged SOQL."""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from ingestion.retry import retry_policy
from ingestion.salesforce.records import parse_datetime
from ingestion.salesforce.settings import DEFAULT_API_VERSION

log = logging.getLogger(__name__)

_MINUTE = timedelta(minutes=1)


class SalesforceRequestLimitExceeded(RuntimeError):
    """The org hit an API request limit (REQUEST_LIMIT_EXCEEDED): retrying only makes it worse."""


class SalesforceApiError(RuntimeError):
    """Salesforce answered with an error that retrying did not cure."""


@dataclass(frozen=True)
class SalesforceConnection:
    """How to reach a Salesforce org: an instance URL and access token, or a username login."""

    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: str | None = None  # login, test or a My Domain prefix (username login only)
    api_version: str = DEFAULT_API_VERSION
    ca_bundle: str | os.PathLike | None = None  # extra CAs to trust, e.g. a self-signed sandbox's
    timeout_s: float = 120.0
    max_retries: int = 6
    backoff_factor: float = 0.5

    def __post_init__(self) -> None:
        if self.access_token and not self.instance_url:
            raise ValueError(
                "a Salesforce access token needs SALESFORCE_INSTANCE_URL (e.g. https://acme.my.salesforce.com)"
            )
        if self.instance_url and not self.instance_url.startswith("https://"):
            raise ValueError(f"SALESFORCE_INSTANCE_URL must be an https:// URL, not {self.instance_url!r}")
        if not self.access_token and not self.username:
            raise ValueError("Salesforce needs SALESFORCE_ACCESS_TOKEN or SALESFORCE_USERNAME")
        if self.username and not self.access_token and not self.password:
            raise ValueError("a Salesforce username login needs SALESFORCE_PASSWORD")

    @classmethod
    def from_env(cls) -> "SalesforceConnection | None":
        """The connection the SALESFORCE_* variables describe; None when neither token nor username is set."""
        env = {key: os.environ.get(key) or None for key in _ENV_VARS}
        if not env["SALESFORCE_ACCESS_TOKEN"] and not env["SALESFORCE_USERNAME"]:
            return None
        return cls(
            instance_url=env["SALESFORCE_INSTANCE_URL"],
            access_token=env["SALESFORCE_ACCESS_TOKEN"],
            username=env["SALESFORCE_USERNAME"],
            password=env["SALESFORCE_PASSWORD"],
            security_token=env["SALESFORCE_SECURITY_TOKEN"],
            domain=env["SALESFORCE_DOMAIN"],
            api_version=env["SALESFORCE_API_VERSION"] or DEFAULT_API_VERSION,
            ca_bundle=env["REQUESTS_CA_BUNDLE"],
        )


_ENV_VARS = (
    "SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_DOMAIN", "SALESFORCE_API_VERSION", "REQUESTS_CA_BUNDLE",
)


class _Session(requests.Session):
    """A requests Session with a default timeout, whose own CA bundle beats REQUESTS_CA_BUNDLE.

    requests lets the environment's bundle override Session.verify, which would make an explicitly
    configured bundle silently lose to the system one on machines that export REQUESTS_CA_BUNDLE.
    """

    def __init__(self, ca_bundle: str | os.PathLike | None, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        if ca_bundle:
            self.verify = os.fspath(ca_bundle)

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            settings["verify"] = self.verify
        return settings


def http_session(connection: SalesforceConnection) -> requests.Session:
    """The HTTPS session every Salesforce call goes through: retries with backoff, trusted CAs, timeout."""
    session = _Session(connection.ca_bundle, connection.timeout_s)
    adapter = HTTPAdapter(max_retries=retry_policy(connection.max_retries, connection.backoff_factor))
    session.mount("https://", adapter)
    return session


def connect(connection: SalesforceConnection) -> Salesforce:
    """A simple-salesforce client for the org, logged in by token or username."""
    session = http_session(connection)
    common: dict[str, Any] = {
        "version": connection.api_version, "session": session, "object_pairs_hook": dict,
    }
    with salesforce_errors("login"):
        if connection.access_token:
            return Salesforce(
                instance_url=connection.instance_url, session_id=connection.access_token, **common
            )
        return Salesforce(
            username=connection.username,
            password=connection.password,
            security_token=connection.security_token or "",
            domain=connection.domain,
            **common,
        )


def _error_codes(content: Any) -> list[str]:
    # REST errors come as [{"message": ..., "errorCode": ...}], sometimes as one such object.
    items = content if isinstance(content, list) else [content]
    return [item.get("errorCode", "") for item in items if isinstance(item, dict)]


def _error_messages(content: Any) -> str:
    items = content if isinstance(content, list) else [content]
    messages = [f"{i.get('errorCode')}: {i.get('message')}" for i in items if isinstance(i, dict)]
    return "; ".join(messages) or str(content)[:500]


@contextmanager
def salesforce_errors(action: str) -> Iterator[None]:
    """Turns simple-salesforce's errors into ones that say what failed and what to do about it."""
    try:
        yield
    except SalesforceError as exc:
        if exc.status == 403 and "REQUEST_LIMIT_EXCEEDED" in _error_codes(exc.content):
            raise SalesforceRequestLimitExceeded(
                f"Salesforce refused {action} ({_error_messages(exc.content)}): the org has hit an API "
                "request limit (its rolling 24-hour allowance, or too many concurrent long requests); the "
                "run stops rather than retrying into it. See Setup > Company Information > API Requests, "
                "and run again once the allowance recovers or the limit is raised."
            ) from exc
        if exc.status == 401:
            raise SalesforceApiError(
                f"Salesforce rejected the credentials for {action} ({_error_messages(exc.content)}): "
                "check SALESFORCE_ACCESS_TOKEN (it may have expired) or the username login."
            ) from exc
        raise SalesforceApiError(
            f"Salesforce {action} failed with HTTP {exc.status}: {_error_messages(exc.content)}"
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise SalesforceApiError(f"Salesforce {action} failed: {type(exc).__name__}: {exc}") from exc


def describe_fields(sf: Salesforce, object_name: str) -> list[dict]:
    """The fields describe reports for one sObject (name, type, custom, ...)."""
    with salesforce_errors(f"describe of {object_name}"):
        return getattr(sf, object_name).describe()["fields"]


def query_pages(sf: Salesforce, object_name: str, soql: str, include_deleted: bool) -> Iterator[list[dict]]:
    """The records of a SOQL query page by page, following nextRecordsUrl (queryAll when include_deleted)."""
    with salesforce_errors(f"query of {object_name}"):
        result = sf.query(soql, include_deleted=include_deleted)
        yield result["records"]
        while not result["done"]:
            result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
            yield result["records"]


def updated_between(sf: Salesforce, object_name: str, start: datetime, end: datetime) -> dict:
    """Get Updated of one sObject: {ids, latestDateCovered}, the records added or changed (SystemModstamp)
    within [start, end] (seconds ignored). latestDateCovered stays before any transaction still open, so
    starting the next call there misses no late commit. A span listing more than Get Updated's 600,000 ids
    (EXCEEDED_ID_LIMIT) is read in halves."""
    try:
        with salesforce_errors(f"Get Updated of {object_name}"):
            return getattr(sf, object_name).updated(start, end)
    except SalesforceApiError as exc:
        cause = exc.__cause__
        too_many = isinstance(cause, SalesforceError) and "EXCEEDED_ID_LIMIT" in _error_codes(cause.content)
        if not too_many or end - start < 2 * _MINUTE:
            raise
    middle = (start + (end - start) / 2).replace(second=0, microsecond=0)
    first = updated_between(sf, object_name, start, middle)
    second = updated_between(sf, object_name, middle, end)
    # a transaction still open in the first half holds the coverage there
    held = parse_datetime(first["latestDateCovered"]) < middle
    return {
        "ids": list(dict.fromkeys(first["ids"] + second["ids"])),
        "latestDateCovered": (first if held else second)["latestDateCovered"],
    }


def deleted_between(sf: Salesforce, object_name: str, start: datetime, end: datetime) -> dict:
    """Get Deleted of one sObject: {deletedRecords: [{id, deletedDate}], earliestDateAvailable,
    latestDateCovered}, records deleted (recycle bin or purged) within [start, end] (seconds ignored)."""
    with salesforce_errors(f"Get Deleted of {object_name}"):
        return getattr(sf, object_name).deleted(start, end)


def all_ids(sf: Salesforce, object_name: str) -> Iterator[str]:
    """Every id the org holds for an object, recycle bin included (queryAll of Id alone)."""
    for page in query_pages(sf, object_name, f"SELECT Id FROM {object_name}", include_deleted=True):
        yield from (record["Id"] for record in page)
