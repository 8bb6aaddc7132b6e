"""`revloop doctor`: is this installation ready to run? CRM credentials and fields, SMTP, disk space.

Every check yields pass, fail or skip lines; no line ever carries a secret (known secret values are masked
in every message, whatever the library that raised it put in its text).
"""

import dataclasses
import os
import shutil
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hubspot.crm.properties import ApiException
from simple_salesforce.exceptions import SalesforceError
from urllib3.exceptions import HTTPError

from activation.hubspot_writer import DEFAULT_UPSERT_KEY, REVLOOP_PROPERTIES, UPSERT_KEY
from activation.mail import MailConfigError, SmtpSession, SmtpSettings
from activation.salesforce_writer import REVLOOP_KEY
from ingestion.change_probe import hubspot_probe_client, salesforce_probe_client
from ingestion.hubspot.client import HubSpotConnection
from ingestion.salesforce.client import SalesforceApiError, SalesforceConnection
from revloop.config import ConfigError
from revloop.config.sync import SyncConfig, load_sync_config
from revloop.redact import mask
from revloop.status import human_size

PASS, FAIL, SKIP = "pass", "fail", "skip"
# Below this much free space a dbt rebuild or a DuckDB spill may not fit, whatever the warehouse's size.
MIN_FREE_BYTES = 1 << 30
NETWORK_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, the outcome and the reason."""

    name: str
    outcome: str  # pass | fail | skip
    detail: str


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


# Salesforce -----------------------------------------------------------------------------------------------
def salesforce_fields(config: SyncConfig) -> dict[str, set[str]]:
    """The fields revloop writes per sObject (mapped fields, plus Revloop_Id__c where it creates records)."""
    needed: dict[str, set[str]] = {}
    for mapping in config.objects.values():
        for object_name in mapping.salesforce:
            names = needed.setdefault(object_name, set())
            names |= {
                f.salesforce for f in mapping.fields
                if f.salesforce and "salesforce" in f.targets() and f.applies_to(object_name)
            }
        if mapping.create_missing.salesforce:
            needed[mapping.salesforce_create_object].add(REVLOOP_KEY)
    return {name: names for name, names in needed.items() if names}


def check_salesforce(config: SyncConfig | None) -> Iterator[Check]:
    """Credentials (a describe of Contact), then the fields revloop writes on each sObject."""
    name = "salesforce credentials"
    try:
        connection = SalesforceConnection.from_env()
    except ValueError as exc:
        yield Check(name, FAIL, str(exc))
        return
    if connection is None:
        yield Check(name, SKIP, "not configured (SALESFORCE_ACCESS_TOKEN or SALESFORCE_USERNAME)")
        return
    connection = dataclasses.replace(connection, timeout_s=NETWORK_TIMEOUT_S)
    login = "access token" if connection.access_token else f"username {connection.username}"
    try:
        sf = salesforce_probe_client(connection)
        described = {"Contact": sf.Contact.describe()}
    except (SalesforceApiError, SalesforceError, OSError) as exc:
        yield Check(name, FAIL, f"{connection.instance_url or 'login'} with {login}: {_first_line(exc)}")
        return
    yield Check(name, PASS, f"{sf.base_url.split('/services')[0]} accepts the {login}")
    if config is None:
        return
    for object_name, needed in sorted(salesforce_fields(config).items()):
        try:
            if object_name not in described:
                described[object_name] = getattr(sf, object_name).describe()
        except (SalesforceApiError, SalesforceError, OSError) as exc:
            yield Check(f"salesforce {object_name} fields", FAIL, f"describe failed: {_first_line(exc)}")
            continue
        fields = {f["name"]: f for f in described[object_name]["fields"]}
        missing = sorted(n for n in needed if n not in fields)
        locked = sorted(n for n in needed if n in fields and not fields[n].get("updateable", True))
        if missing or locked:
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"not writable {', '.join(locked)}"] if locked else []
            yield Check(
                f"salesforce {object_name} fields", FAIL,
                f"{'; '.join(problems)} (an admin adds them in Setup > Object Manager > {object_name}; "
                "README 'CRM write-back defaults')",
            )
        else:
            yield Check(f"salesforce {object_name} fields", PASS, f"all {len(needed)} fields revloop writes")


# HubSpot --------------------------------------------------------------------------------------------------
def hubspot_properties(config: SyncConfig) -> dict[str, set[str]]:
    """The properties revloop writes per object type (mapped, plus the upsert key where it creates)."""
    needed: dict[str, set[str]] = {}
    for mapping in config.objects.values():
        names = needed.setdefault(mapping.hubspot, set())
        names |= {f.hubspot for f in mapping.fields if f.hubspot and "hubspot" in f.targets()}
        if mapping.create_missing.hubspot:
            names.add(UPSERT_KEY.get(mapping.hubspot, DEFAULT_UPSERT_KEY))
    return {name: names for name, names in needed.items() if names}


def check_hubspot(config: SyncConfig | None) -> Iterator[Check]:
    """Credentials (the property list of each synced object type), then the properties revloop writes."""
    name = "hubspot credentials"
    connection = HubSpotConnection.from_env()
    if connection is None:
        yield Check(name, SKIP, "not configured (HUBSPOT_ACCESS_TOKEN)")
        return
    core_api = hubspot_probe_client(connection).crm.properties.core_api
    types = sorted(hubspot_properties(config)) if config else []
    properties: dict[str, set[str]] = {}
    try:
        for object_type in types or ["contacts"]:
            properties[object_type] = {p.name for p in core_api.get_all(object_type).results}
    except ApiException as exc:
        hint = {401: ": the token is wrong, expired or revoked", 403: ": the token lacks the CRM scopes"}
        yield Check(name, FAIL, f"{connection.base_url} answered {exc.status}{hint.get(exc.status, '')}")
        return
    except (HTTPError, OSError) as exc:
        yield Check(name, FAIL, f"cannot reach {connection.base_url}: {_first_line(exc)}")
        return
    yield Check(name, PASS, f"{connection.base_url} accepts the private-app token")
    for object_type in types:
        needed = hubspot_properties(config)[object_type]
        missing = needed - properties[object_type]
        foreign = sorted(missing - set(REVLOOP_PROPERTIES))
        created = sorted(missing & set(REVLOOP_PROPERTIES))
        check = f"hubspot {object_type} properties"
        if foreign:
            yield Check(check, FAIL, f"missing {', '.join(foreign)} (create them in Settings > Properties)")
        elif created:
            yield Check(check, PASS, f"{', '.join(created)} missing: the first sync creates them")
        else:
            yield Check(check, PASS, f"all {len(needed)} properties revloop writes")


# SMTP, disk -----------------------------------------------------------------------------------------------
def check_smtp() -> Iterator[Check]:
    """Connect, TLS (verified) and log in, as the hand-off mailer does, then QUIT without sending."""
    name = "smtp"
    try:
        settings = SmtpSettings.from_env()
    except MailConfigError as exc:
        yield Check(name, FAIL, str(exc))
        return
    if settings is None:
        yield Check(name, SKIP, "not configured (SMTP_HOST): hand-off e-mails wait in the outbox")
        return
    settings = dataclasses.replace(settings, timeout_s=NETWORK_TIMEOUT_S)
    where = f"{settings.host}:{settings.port}"
    try:
        with SmtpSession(settings):
            pass
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        yield Check(name, FAIL, f"{where}: {_first_line(exc)}")
        return
    login = f", logged in as {settings.username}" if settings.username else ""
    yield Check(name, PASS, f"{where} answers (TLS verified where offered{login})")


def check_disk(warehouse: Path) -> Iterator[Check]:
    """Free space where the warehouse lives: at least 1 GB and twice the warehouse."""
    folder = warehouse.parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    size = warehouse.stat().st_size if warehouse.exists() else 0
    needed = max(MIN_FREE_BYTES, 2 * size)  # a full rebuild writes the marts again beside the old ones
    detail = f"{human_size(free)} free in {folder} (warehouse {human_size(size)}; wants {human_size(needed)})"
    yield Check("disk space", PASS if free >= needed else FAIL, detail)


def run_checks(warehouse: Path) -> list[Check]:
    """Every check, in report order, with the secrets of the environment masked."""
    checks: list[Check] = []
    try:
        config: SyncConfig | None = load_sync_config()
    except ConfigError as exc:
        config = None
        checks.append(Check("config/sync.yml", FAIL, str(exc)))
    groups: list[Callable[[], Iterator[Check]]] = [
        lambda: check_salesforce(config),
        lambda: check_hubspot(config),
        check_smtp,
        lambda: check_disk(warehouse),
    ]
    for group in groups:
        checks.extend(group())
    return [dataclasses.replace(c, detail=mask(c.detail, os.environ)) for c in checks]


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{c.outcome.upper():<4}  {c.name:<{width}}  {c.detail}" for c in checks)
