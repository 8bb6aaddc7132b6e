"""HubSpot contact -> company associations from Salesforce: a contact with no company gets its Contact's."""

from collections.abc import Iterable, Mapping
from typing import Any

from activation.associations import Association
from activation.plan import SyncPair


def plan_contact_companies(
    rows: Iterable[Mapping[str, Any]],
    pairs: Iterable[SyncPair],
    done: set[tuple[str, str]],
    partners: Mapping[str, str] | None = None,
) -> list[Association]:
    """Contact -> company associations still missing, for Contacts whose HubSpot partner has no company.

    rows: sync_salesforce__contact_accounts; pairs: the person pairs (records that do not match each other
    link nothing); done: (contact, company) associations HubSpot has (ingested) or revloop wrote; partners:
    Salesforce id -> HubSpot id of partners revloop linked itself (a contact or company created in this
    run). A contact that has a company keeps it: an association is added, never moved.
    """
    partners = partners or {}
    pair_of = {p.salesforce.record_id: p for p in pairs if p.salesforce is not None}
    with_company = {contact_id for contact_id, _ in done}
    wanted: dict[str, Association] = {}
    for row in rows:
        pair = pair_of.get(row["contact_id"])
        contact_id = row.get("hubspot_contact_id") or partners.get(row["contact_id"])
        company_id = row.get("account_hubspot_company_id") or partners.get(row.get("account_id") or "")
        if pair is None or not pair.matched or not contact_id or not company_id:
            continue
        if pair.hubspot is not None and pair.hubspot.record_id != contact_id:
            continue
        if row.get("hubspot_company_id") or contact_id in with_company:
            continue
        wanted.setdefault(contact_id, Association("contacts", contact_id, "companies", company_id, pair.key))
    return list(wanted.values())
