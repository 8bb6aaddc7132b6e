"""Deal contacts both ways: Opportunity contact roles <-> HubSpot deal -> contact associations (type 3)."""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from activation.associations import Association, AssociationResult
from activation.once import create_once
from activation.plan import SALESFORCE_COLLECTION_SIZE, SyncPair
from activation.results import CrmAccessDenied, RequestRefused, isolate

ROLE_OBJECT = "OpportunityContactRole"
# Key prefixes of the Salesforce records a contact role joins: only a Contact (never a Lead) plays a role.
OPPORTUNITY_PREFIX, CONTACT_PREFIX = "006", "003"


@dataclass(frozen=True)
class Partners:
    """Salesforce id <-> HubSpot id of the deals and the people that are each other's partners."""

    deal_of: Mapping[str, str]  # Opportunity id -> HubSpot deal id
    contact_of: Mapping[str, str]  # Salesforce Contact id -> HubSpot contact id

    @property
    def opportunity_of(self) -> dict[str, str]:
        return {deal: opportunity for opportunity, deal in self.deal_of.items()}

    @property
    def salesforce_contact_of(self) -> dict[str, str]:
        return {hubspot: contact for contact, hubspot in self.contact_of.items()}


def partners(
    deal_pairs: Iterable[SyncPair], person_pairs: Iterable[SyncPair], linked: Mapping[str, str]
) -> Partners:
    """The partners of deals (paired by cross ids) and of Contacts (matching person pairs), with those
    revloop linked itself in this or an earlier run (linked: Salesforce id -> HubSpot id, any object)."""
    deal_of = {sf: hs for sf, hs in linked.items() if sf.startswith(OPPORTUNITY_PREFIX)}
    deal_of |= {p.salesforce.record_id: p.hubspot.record_id for p in deal_pairs if p.salesforce and p.hubspot}
    contact_of = {sf: hs for sf, hs in linked.items() if sf.startswith(CONTACT_PREFIX)}
    contact_of |= {
        p.salesforce.record_id: p.hubspot.record_id
        for p in person_pairs
        if p.salesforce and p.hubspot and p.matched and p.salesforce.record_id.startswith(CONTACT_PREFIX)
    }
    return Partners(deal_of, contact_of)


def plan_deal_contact_associations(
    roles: Iterable[tuple[str, str]],
    known: Partners,
    keys: Mapping[str, str],
    done: set[tuple[str, str]],
) -> list[Association]:
    """Deal -> contact associations still missing in HubSpot, one per Salesforce contact role whose
    Opportunity and Contact both have a HubSpot partner.

    roles: (Opportunity id, Contact id) of the live contact roles; keys: Opportunity id -> revloop key;
    done: (deal, contact) pairs HubSpot has (ingested) or revloop already wrote.
    """
    wanted: dict[tuple[str, str], Association] = {}
    for opportunity_id, contact_id in roles:
        deal_id, hubspot_contact_id = known.deal_of.get(opportunity_id), known.contact_of.get(contact_id)
        if not deal_id or not hubspot_contact_id or (deal_id, hubspot_contact_id) in done:
            continue
        key = keys.get(opportunity_id, f"opportunity:{opportunity_id}")
        wanted.setdefault(
            (deal_id, hubspot_contact_id), Association("deals", deal_id, "contacts", hubspot_contact_id, key)
        )
    return list(wanted.values())


def plan_contact_roles(
    associations: Iterable[tuple[str, str]],
    known: Partners,
    keys: Mapping[str, str],
    done: set[tuple[str, str]],
) -> list[Association]:
    """Opportunity contact roles still missing in Salesforce, one per HubSpot deal -> contact association
    whose deal has an Opportunity and whose contact a Salesforce Contact (a Lead cannot play a role).

    associations: (deal id, contact id) as HubSpot holds them; keys: Opportunity id -> revloop key; done:
    (Opportunity, Contact) pairs Salesforce has as roles (ingested) or revloop already created.
    """
    opportunity_of, contact_of = known.opportunity_of, known.salesforce_contact_of
    wanted: dict[tuple[str, str], Association] = {}
    for deal_id, hubspot_contact_id in associations:
        opportunity_id, contact_id = opportunity_of.get(deal_id), contact_of.get(hubspot_contact_id)
        if not opportunity_id or not contact_id or (opportunity_id, contact_id) in done:
            continue
        key = keys.get(opportunity_id, f"opportunity:{opportunity_id}")
        wanted.setdefault(
            (opportunity_id, contact_id),
            Association("Opportunity", opportunity_id, "Contact", contact_id, key, crm="salesforce"),
        )
    return list(wanted.values())


def _soql_ids(ids: Iterable[str]) -> str:
    # Salesforce ids are letters and digits only: nothing to escape
    return ", ".join(f"'{i}'" for i in sorted(set(ids)))


def _held(sf: Salesforce, roles: Sequence[Association]) -> set[tuple[str, str]]:
    """(Opportunity, Contact) of the given roles' Opportunities that Salesforce holds now (a SOQL read)."""
    soql = (
        f"SELECT OpportunityId, ContactId FROM {ROLE_OBJECT} "
        f"WHERE OpportunityId IN ({_soql_ids(r.from_id for r in roles)})"
    )
    return {(r["OpportunityId"], r["ContactId"]) for r in sf.query_all(soql)["records"]}


def _create(sf: Salesforce, roles: Sequence[Association]) -> list[AssociationResult]:
    """One sObject Collections POST creating the roles; a record Salesforce refuses is refused alone."""
    records = [
        {"attributes": {"type": ROLE_OBJECT}, "OpportunityId": r.from_id, "ContactId": r.to_id} for r in roles
    ]
    body = {"allOrNone": False, "records": records}
    try:
        answers = sf.restful("composite/sobjects", method="POST", json=body)
    except SalesforceError as exc:
        if exc.status in (401, 403):
            raise CrmAccessDenied("salesforce", exc.status, str(exc.content)) from exc
        if exc.status in (400, 404):
            raise RequestRefused(f"{exc.status}: {exc.content}") from exc
        raise
    results = []
    for role, answer in zip(roles, answers, strict=True):
        if answer.get("success"):
            results.append(AssociationResult(role, "associated"))
        else:
            errors = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in answer.get("errors", []))
            results.append(AssociationResult(role, "refused", errors))
    return results


def _send(sf: Salesforce, roles: Sequence[Association]) -> list[AssociationResult]:
    """Create roles exactly once: the POST is not idempotent (Salesforce would hold a pair twice), so after
    a time-out, reset or 5xx the roles already there are looked up and only the others sent again."""
    found: list[AssociationResult] = []
    pending = list(roles)

    def create() -> list[AssociationResult]:
        return found + _create(sf, pending)

    def find() -> list[AssociationResult] | None:
        held = _held(sf, pending)
        found.extend(AssociationResult(r, "associated") for r in pending if (r.from_id, r.to_id) in held)
        pending[:] = [r for r in pending if (r.from_id, r.to_id) not in held]
        return None if pending else found

    return create_once(create, find)


def write_contact_roles(
    sf: Salesforce, roles: Sequence[Association], calls: Counter[str] | None = None
) -> list[AssociationResult]:
    """Create contact roles in collections of 200; a refused collection is split to isolate the bad role.

    calls, when given, counts the collection calls sent as 'salesforce.OpportunityContactRole.create'.
    """
    results: list[AssociationResult] = []

    def send(chunk: Sequence[Association]) -> list[AssociationResult]:
        if calls is not None:
            calls[f"salesforce.{ROLE_OBJECT}.create"] += 1
        return _send(sf, chunk)

    for start in range(0, len(roles), SALESFORCE_COLLECTION_SIZE):
        chunk = roles[start : start + SALESFORCE_COLLECTION_SIZE]
        results += isolate(chunk, send, lambda r, e: AssociationResult(r, "failed", e))
    return results
