"""HubSpot contact -> company associations from Salesforce: a contact with no company gets its Contact's."""

from collections.abc import Iterable, Mapping
from typing import Any

from activation.associations import Association
from activation.plan import SyncPair


def plan_contact_companies(
    rows: Iterable[Mapping[str, Any]], pairs: Iterable[SyncPair], done: set[tuple[str, str]]
) -> list[Association]:
    """Contact -> company associations still missing, for Contacts whose HubSpot partner has no company.

    rows: sync_salesforce__contact_accounts; pairs: the person pairs (only matched ones link records);
    done: (contact, company) associations HubSpot has (ingested) or revloop wrote. A contact that has a
    company keeps it: an association is added, never moved.
    """
    matched = {
        (p.salesforce.record_id, p.hubspot.record_id): p.key
        for p in pairs
        if p.salesforce is not None and p.hubspot is not None and p.matched
    }
    with_company = {contact_id for contact_id, _ in done}
    wanted: dict[str, Association] = {}
    for row in rows:
        contact_id, company_id = row["hubspot_contact_id"], row.get("account_hubspot_company_id")
        key = matched.get((row["contact_id"], contact_id))
        if key is None or not company_id or row.get("hubspot_company_id") or contact_id in with_company:
            continue
        wanted.setdefault(contact_id, Association("contacts", contact_id, "companies", company_id, key))
    return list(wanted.values())
