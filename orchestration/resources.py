"""Dagster resources named after the systems they reach; every value comes from the environment."""

import os
from pathlib import Path

from dagster import ConfigurableResource, EnvVar

from ingestion.hubspot import HubSpotConnection
from ingestion.hubspot.client import DEFAULT_BASE_URL
from ingestion.salesforce import SalesforceConnection
from ingestion.salesforce.settings import DEFAULT_API_VERSION
from revloop.warehouse import DEFAULT_EVENTS_DIR, DEFAULT_WAREHOUSE_PATH


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file (WAREHOUSE_PATH) and the event landing folder (EVENTS_DIR)."""

    path: str = DEFAULT_WAREHOUSE_PATH
    events_dir: str = DEFAULT_EVENTS_DIR

    @property
    def warehouse_file(self) -> Path:
        return Path(self.path).resolve()

    @property
    def events_folder(self) -> Path:
        return Path(self.events_dir).resolve()


class SalesforceResource(ConfigurableResource):
    """A Salesforce org: instance URL and token, or a username login (SALESFORCE_* variables)."""

    instance_url: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    domain: str | None = None
    api_version: str = DEFAULT_API_VERSION
    ca_bundle: str | None = None

    def connection(self) -> SalesforceConnection | None:
        """The connection, or None when neither a token nor a username is configured."""
        if not self.access_token and not self.username:
            return None
        return SalesforceConnection(
            instance_url=self.instance_url,
            access_token=self.access_token,
            username=self.username,
            password=self.password,
            security_token=self.security_token,
            domain=self.domain,
            api_version=self.api_version,
            ca_bundle=self.ca_bundle,
        )


class HubSpotResource(ConfigurableResource):
    """A HubSpot portal reached with a private-app token (HUBSPOT_* variables)."""

    access_token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    ca_bundle: str | None = None

    def connection(self) -> HubSpotConnection | None:
        """The connection, or None when no token is configured."""
        if not self.access_token:
            return None
        return HubSpotConnection(self.access_token, self.base_url.rstrip("/"), self.ca_bundle)


def _from_env(**fields: str) -> dict[str, EnvVar]:
    """EnvVar references for the variables that are set, so that values (secrets) never show in the UI."""
    return {field: EnvVar(variable) for field, variable in fields.items() if os.environ.get(variable)}


def build_resources() -> dict[str, ConfigurableResource]:
    """The resources of every asset, configured from the contract's environment variables."""
    return {
        "warehouse": WarehouseResource(**_from_env(path="WAREHOUSE_PATH", events_dir="EVENTS_DIR")),
        "salesforce": SalesforceResource(
            **_from_env(
                instance_url="SALESFORCE_INSTANCE_URL",
                access_token="SALESFORCE_ACCESS_TOKEN",
                username="SALESFORCE_USERNAME",
                password="SALESFORCE_PASSWORD",
                security_token="SALESFORCE_SECURITY_TOKEN",
                domain="SALESFORCE_DOMAIN",
                api_version="SALESFORCE_API_VERSION",
                ca_bundle="REQUESTS_CA_BUNDLE",
            )
        ),
        "hubspot": HubSpotResource(
            **_from_env(
                access_token="HUBSPOT_ACCESS_TOKEN",
                base_url="HUBSPOT_BASE_URL",
                ca_bundle="REQUESTS_CA_BUNDLE",
            )
        ),
    }
