"""Salesforce connection settings, secrets hygiene, the HTTP session and the shared retry policy."""

import pytest
from urllib3 import HTTPResponse

from ingestion.retry import retry_policy
from ingestion.salesforce.client import SalesforceConnection, http_session

SF_VARS = (
    "SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_DOMAIN", "SALESFORCE_API_VERSION",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in SF_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_not_configured_without_token_or_username(clean_env):
    clean_env.setenv("SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    assert SalesforceConnection.from_env() is None


def test_token_connection_from_env(clean_env):
    clean_env.setenv("SALESFORCE_INSTANCE_URL", "https://127.0.0.1:8443")
    clean_env.setenv("SALESFORCE_ACCESS_TOKEN", "00D-secret-token")
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/tmp/bundle.pem")
    connection = SalesforceConnection.from_env()
    assert connection.instance_url == "https://127.0.0.1:8443"
    assert connection.access_token == "00D-secret-token"
    assert connection.api_version == "54.0"
    assert connection.ca_bundle == "/tmp/bundle.pem"


def test_username_connection_from_env(clean_env):
    clean_env.setenv("SALESFORCE_USERNAME", "ops@acme.com")
    clean_env.setenv("SALESFORCE_PASSWORD", "hunter2")
    clean_env.setenv("SALESFORCE_SECURITY_TOKEN", "sectok")
    clean_env.setenv("SALESFORCE_DOMAIN", "test")
    clean_env.setenv("SALESFORCE_API_VERSION", "60.0")
    connection = SalesforceConnection.from_env()
    assert connection.username == "ops@acme.com"
    assert (connection.domain, connection.api_version) == ("test", "60.0")


def test_secrets_never_show_in_repr():
    connection = SalesforceConnection(
        instance_url="https://x.my.salesforce.com", access_token="tok-123", username="u", password="pw-456",
        security_token="st-789",
    )
    text = repr(connection) + str(connection)
    assert "x.my.salesforce.com" in text
    for secret in ("tok-123", "pw-456", "st-789"):
        assert secret not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"access_token": "t"}, "SALESFORCE_INSTANCE_URL"),
        ({"access_token": "t", "instance_url": "http://plain"}, "https://"),
        ({"username": "u"}, "SALESFORCE_PASSWORD"),
        ({}, "SALESFORCE_ACCESS_TOKEN or SALESFORCE_USERNAME"),
    ],
)
def test_incomplete_settings_fail_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SalesforceConnection(**kwargs)


def test_session_trusts_its_bundle_over_the_environment_and_retries(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    connection = SalesforceConnection(
        instance_url="https://127.0.0.1:1", access_token="t", ca_bundle="/tmp/sandbox.pem"
    )
    session = http_session(connection)
    settings = session.merge_environment_settings("https://127.0.0.1:1/x", {}, None, None, None)
    assert settings["verify"] == "/tmp/sandbox.pem"
    retry = session.get_adapter("https://127.0.0.1:1").max_retries
    assert retry.total == connection.max_retries


def test_session_falls_back_to_the_environment_bundle(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/tmp/env-bundle.pem")
    session = http_session(SalesforceConnection(instance_url="https://127.0.0.1:1", access_token="t"))
    assert session.merge_environment_settings("https://127.0.0.1:1/x", {}, None, None, None)["verify"] == (
        "/tmp/env-bundle.pem"
    )


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_retry_policy_retries_throttling_and_server_errors_on_every_method(method):
    policy = retry_policy()
    for status in (429, 500, 502, 503, 504):
        assert policy.is_retry(method, status)
    for status in (400, 401, 403, 404):
        assert not policy.is_retry(method, status)
    assert policy.respect_retry_after_header


def test_retry_policy_backs_off_exponentially():
    policy = retry_policy(backoff_factor=1.0, backoff_max=5.0)
    waits = []
    for _ in range(5):
        policy = policy.increment("GET", "/x")
        waits.append(policy.get_backoff_time())
    # the first retry goes at once; jitter adds up to 0.1 * backoff_factor
    assert [round(w) for w in waits] == [0, 2, 4, 5, 5]


def test_retry_policy_waits_as_long_as_retry_after_asks():
    policy = retry_policy(backoff_factor=0.01)
    throttled = HTTPResponse(status=429, headers={"Retry-After": "7"})
    assert policy.is_retry("POST", 429, has_retry_after=True)
    assert policy.get_retry_after(throttled) == 7
