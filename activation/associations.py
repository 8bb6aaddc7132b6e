"""HubSpot deal associations: each deal linked to the company paired with its Opportunity's Account.

An Association is also how a link revloop makes between two records is logged and remembered (a
Salesforce contact role: Opportunity -> Contact, activation/deal_contacts.py).
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    ApiException,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)

from activation.once import create_once
from activation.plan import KEY_FIELDS, WrittenState
from activation.results import CrmAccessDenied, RequestRefused, send_batches

# HubSpot takes more associations a call; 100 matches the object batches and keeps a refused batch small.
ASSOCIATION_BATCH_SIZE = 100


@dataclass(frozen=True)
class Association:
    """One default (unlabeled) association to create, and the revloop key of the record it belongs to."""

    from_type: str
    from_id: str
    to_type: str
    to_id: str
    key: str
    crm: str = "hubspot"  # the CRM holding the link (salesforce: a contact role, Opportunity -> Contact)


@dataclass
class AssociationResult:
    """One association as HubSpot answered it."""

    association: Association
    status: str  # associated | failed
    error: str | None = None


def linked_partners(written: WrittenState) -> dict[str, str]:
    """Salesforce id -> HubSpot id of the partners revloop linked itself (known before the next ingestion)."""
    partners: dict[str, str] = {}
    for crm in ("hubspot", "salesforce"):  # the Salesforce side's HubSpot_Id__c, written last, wins
        partner_key = KEY_FIELDS[crm][1]
        for (side, record_id, name), written_value in written.items():
            if side == crm and name == partner_key and written_value.value:
                value = str(written_value.value)
                salesforce_id, hubspot_id = (record_id, value) if crm == "salesforce" else (value, record_id)
                partners[salesforce_id] = hubspot_id
    return partners


def plan_deal_companies(
    opportunities: Iterable[Mapping[str, Any]],
    deal_of: Mapping[str, str],
    company_of: Mapping[str, str],
    keys: Mapping[str, str],
    done: set[tuple[str, str]],
) -> list[Association]:
    """Deal -> company associations still missing, one per Opportunity whose deal and company are known.

    opportunities: sync_salesforce__opportunities rows; deal_of / company_of: the HubSpot partners of
    Opportunities and Accounts not yet in those rows; keys: Opportunity id -> revloop key; done: (deal,
    company) pairs HubSpot already has (ingested) or revloop already wrote.
    """
    wanted: dict[tuple[str, str], Association] = {}
    for row in opportunities:
        opportunity_id, account_id = row["opportunity_id"], row.get("account_id")
        deal_id = deal_of.get(opportunity_id)
        company_id = row.get("hubspot_company_id") or (company_of.get(account_id) if account_id else None)
        if not deal_id or not company_id or (deal_id, company_id) in done:
            continue
        key = keys.get(opportunity_id, f"opportunity:{opportunity_id}")
        wanted.setdefault((deal_id, company_id), Association("deals", deal_id, "companies", company_id, key))
    return list(wanted.values())


def _existing(hs: HubSpot, associations: Sequence[Association]) -> set[tuple[str, str]]:
    """(from id, to id) of the given associations that HubSpot holds now (batch read, a safe POST)."""
    first = associations[0]
    body = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=a.from_id) for a in associations]
    )
    answer = hs.crm.associations.v4.batch_api.get_page(first.from_type, first.to_type, body)
    return {(str(r._from.id), str(t.to_object_id)) for r in answer.results or [] for t in r.to or []}


def _send(hs: HubSpot, associations: Sequence[Association]) -> list[AssociationResult]:
    """One batch/associate/default call; a 4xx refuses the whole batch (a record id that does not exist).

    The call is a POST HubSpot may have committed when it times out or answers 5xx: then what HubSpot
    holds is read back, and only a batch not all there is sent again.
    """
    first = associations[0]
    body = BatchInputPublicDefaultAssociationMultiPost(
        inputs=[
            PublicDefaultAssociationMultiPost(
                _from=PublicObjectId(id=a.from_id), to=PublicObjectId(id=a.to_id)
            )
            for a in associations
        ]
    )

    def create() -> list[AssociationResult]:
        answer = hs.crm.associations.v4.batch_api.create_default(first.from_type, first.to_type, body)
        linked = {(str(r._from.id), str(r.to.id)) for r in answer.results or []}
        errors = "; ".join(str(e.message) for e in answer.errors or []) or "missing from HubSpot's answer"
        return [
            AssociationResult(a, "associated")
            if (a.from_id, a.to_id) in linked
            else AssociationResult(a, "failed", errors)
            for a in associations
        ]

    def find() -> list[AssociationResult] | None:
        held = _existing(hs, associations)
        if all((a.from_id, a.to_id) in held for a in associations):
            return [AssociationResult(a, "associated") for a in associations]
        return None

    try:
        return create_once(create, find)
    except ApiException as exc:
        if exc.status in (401, 403):
            raise CrmAccessDenied("hubspot", exc.status, str(exc.body)) from exc
        if 400 <= exc.status < 500 and exc.status != 429:
            raise RequestRefused(f"{exc.status}: {exc.body}") from exc
        raise


def write_associations(
    hs: HubSpot, associations: Sequence[Association], calls: Counter[str] | None = None
) -> list[AssociationResult]:
    """Create default associations in batches of 100 per object type pair; a refused batch is split.

    calls, when given, counts the batch calls sent per 'hubspot.<from type>.associate'.
    """
    groups: dict[tuple[str, str], list[Association]] = {}
    for association in associations:
        groups.setdefault((association.from_type, association.to_type), []).append(association)

    def send(chunk: Sequence[Association]) -> list[AssociationResult]:
        if calls is not None:
            calls[f"hubspot.{chunk[0].from_type}.associate"] += 1
        return _send(hs, chunk)

    def fail(association: Association, error: str) -> AssociationResult:
        return AssociationResult(association, "failed", error)

    return send_batches(groups.values(), ASSOCIATION_BATCH_SIZE, send, fail)
