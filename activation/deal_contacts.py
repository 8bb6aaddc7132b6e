"""Deal contacts both ways: Opportunity contact roles <-> HubSpot deal -> contact associations (type 3)."""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from simple_salesforce import Salesforce

from activation.associations import Association, AssociationResult
from activation.plan import RecordWrite, SyncPair
from activation.salesforce_writer import write_salesforce

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


def _role(role: Association) -> RecordWrite:
    fields = {"OpportunityId": role.from_id, "ContactId": role.to_id}
    return RecordWrite("salesforce", ROLE_OBJECT, "create", role.key, None, fields)


def _held(sf: Salesforce, writes: Sequence[RecordWrite]) -> list[str | None]:
    """The id of each role Salesforce holds now (a SOQL read of the roles of their Opportunities)."""
    soql = (
        f"SELECT Id, OpportunityId, ContactId FROM {ROLE_OBJECT} "
        f"WHERE OpportunityId IN ({_soql_ids(w.fields['OpportunityId'] for w in writes)})"
    )
    held = {(r["OpportunityId"], r["ContactId"]): r["Id"] for r in sf.query_all(soql)["records"]}
    return [held.get((w.fields["OpportunityId"], w.fields["ContactId"])) for w in writes]


def write_contact_roles(
    sf: Salesforce, roles: Sequence[Association], calls: Counter[str] | None = None
) -> list[AssociationResult]:
    """Create contact roles through the Salesforce batch writer, each exactly once: the POST is not
    idempotent (Salesforce would hold a pair twice), so after a time-out, reset or 5xx the roles already
    there are looked up and only the others sent again.

    calls, when given, counts the collection calls sent as 'salesforce.OpportunityContactRole.create'.
    """
    writes = [_role(role) for role in roles]
    role_of = {id(write): role for write, role in zip(writes, roles, strict=True)}
    results = write_salesforce(sf, writes, calls, lambda todo: _held(sf, todo))
    status = {"created": "associated"}
    return [AssociationResult(role_of[id(r.write)], status.get(r.status, r.status), r.error) for r in results]
