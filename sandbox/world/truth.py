"""The answer key: what later layers should find in the world's messy records."""

from datetime import datetime, timedelta

from sandbox.world.enrichment import Enrichment
from sandbox.world.enrichment_events import sends_product_events
from sandbox.world.event_files import EventFiles
from sandbox.world.events import EventLog
from sandbox.world.hubspot_records import HubSpotBuilder
from sandbox.world.population import Person, Population
from sandbox.world.salesforce_records import SalesforceBuilder
from sandbox.world.timing import iso_z
from sandbox.world.traps import PlantedTraps

TRIGGER_WINDOW_DAYS = 14
NURTURE_AFTER_DAYS = 14


def _trigger_of(message: dict) -> str | None:
    if message.get("type") == "track":
        return {"Demo Requested": "demo_request", "Trial Started": "trial_signup"}.get(message.get("event"))
    if message.get("type") == "page" and message.get("properties", {}).get("path", "").startswith("/pricing"):
        return "pricing_page_visit"
    return None


def behaviour_triggers(log: EventLog, as_of: datetime) -> list[dict]:
    """Trigger events a deterministic key ties to a person, in the last TRIGGER_WINDOW_DAYS days."""
    since = as_of - timedelta(days=TRIGGER_WINDOW_DAYS)
    found = []
    for event in log.events:
        if event.person_id and event.resolvable and since <= event.at < as_of:
            trigger = _trigger_of(event.message)
            if trigger:
                found.append(
                    {
                        "person_id": event.person_id,
                        "trigger": trigger,
                        "at": iso_z(event.at),
                        "messageId": event.message["messageId"],
                    }
                )
    return sorted(found, key=lambda t: (t["at"], t["messageId"]))


def _shared_ip_groups(population: Population, log: EventLog) -> list[dict]:
    offices = {c.office_ip: c for c in population.companies}
    users: dict[str, list[str]] = {}
    for event in log.events:
        ip = event.message.get("context", {}).get("ip")
        if (
            event.person_id
            and event.resolvable
            and ip in offices
            and event.person_id not in users.get(ip, [])
        ):
            users.setdefault(ip, []).append(event.person_id)
    return [
        {"ip": ip, "company_domain": offices[ip].domain, "person_ids": sorted(people)}
        for ip, people in sorted(users.items())
        if len(people) >= 2
    ]


def _office_colleagues(population: Population, log: EventLog) -> list[dict]:
    """Offices where an identified web user and anonymous-only colleagues share the IP and browser build."""
    offices = {c.office_ip: c for c in population.companies}
    seen: dict[str, set[str]] = {}
    for event in log.events:
        context = event.message.get("context", {})
        company = offices.get(context.get("ip"))
        if event.person_id and company and context.get("userAgent") == company.office_agent:
            seen.setdefault(company.office_ip, set()).add(event.person_id)
    groups = []
    for ip, people in sorted(seen.items()):
        identified = sorted(p for p in people if log.web[p].identified_at)
        anonymous = sorted(p for p in people if not log.web[p].identified_at)
        if identified and anonymous:
            groups.append(
                {
                    "ip": ip,
                    "company_domain": offices[ip].domain,
                    "identified_person_ids": identified,
                    "anonymous_person_ids": anonymous,
                    "anonymous_ids": sorted(log.web[p].anonymous_id for p in anonymous),
                }
            )
    return groups


def identity_traps(population: Population, log: EventLog, traps: PlantedTraps) -> dict:
    """The planted traps by kind: different people who share a network, a phone or a name."""
    return {
        "office_colleagues": _office_colleagues(population, log),
        "office_strangers": log.office_strangers,
        "switchboard_phones": traps.switchboards,
        "namesakes": traps.namesakes,
    }


def enrichment_truth(person: Person, facts: Enrichment, log: EventLog) -> dict:
    """A person's enrichment facts, and which of them their sources state (None: no source says it)."""
    mine = facts.people[person.person_id]
    product = sends_product_events(person, log.web)
    stack = facts.technologies.get(person.company.index) if person.company else None
    return {
        "department": mine.department,
        "crm_department": mine.crm_department,
        "locale": mine.locale,
        "sends_locale": mine.sends_locale,
        "accept_language": mine.accept_language,
        "age": mine.age,
        "gender": mine.gender,
        "role": mine.role,
        "survey": mine.survey,
        "platforms": sorted(mine.platforms) if product else None,
        "integration_count": mine.integration_count if product else None,
        "technologies": list(stack) if stack else None,
    }


def build_truth(
    seed: int,
    as_of: datetime,
    population: Population,
    facts: Enrichment,
    salesforce: SalesforceBuilder,
    hubspot: HubSpotBuilder,
    log: EventLog,
    files: EventFiles,
    traps: PlantedTraps,
) -> dict:
    """The JSON-ready truth document."""
    sf_deleted = set(salesforce.deleted_ids)
    hs_archived = set(hubspot.archived_ids["contacts"])
    triggers = behaviour_triggers(log, as_of)
    triggered = {t["person_id"] for t in triggers}
    high_engagement = set(log.high_engagement)
    people, merges, probabilistic, nurtured = [], [], [], []
    for person in population.people:
        sf_ids = salesforce.person_ids.get(person.person_id, {"Lead": [], "Contact": []})
        hs_ids = hubspot.person_ids.get(person.person_id, [])
        web = log.web.get(person.person_id)
        user_ids = [u for u in (person.web_user_id, person.customer_id) if u]
        anonymous_ids = ([web.anonymous_id] if web and web.identified_at else []) + [
            a for a in log.other_anonymous_ids.get(person.person_id, [])
        ]
        links = []
        if web and web.second_anonymous_id:
            links.append({"anonymousId": web.second_anonymous_id, "signal": web.second_signal})
            probabilistic.append({"person_id": person.person_id, **links[-1]})
        people.append(
            {
                "person_id": person.person_id,
                "email": person.email,
                "phone": person.phone.e164 if person.phone else None,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "company_domain": person.company.domain if person.company else None,
                "country": person.country,
                "is_customer": person.is_customer,
                "customer_id": person.customer_id,
                "salesforce": {"leads": sf_ids["Lead"], "contacts": sf_ids["Contact"]},
                "hubspot": {"contacts": hs_ids},
                "user_ids": user_ids,
                "anonymous_ids": anonymous_ids,
                "probabilistic_anonymous_ids": links,
                "unidentified_anonymous_ids": [web.anonymous_id] if web and not web.identified_at else [],
                "enrichment": enrichment_truth(person, facts, log),
            }
        )
        records = (
            [
                {"system": "salesforce", "object": "Lead", "id": i}
                for i in sf_ids["Lead"]
                if i not in sf_deleted
            ]
            + [
                {"system": "salesforce", "object": "Contact", "id": i}
                for i in sf_ids["Contact"]
                if i not in sf_deleted
            ]
            + [{"system": "hubspot", "object": "contacts", "id": i} for i in hs_ids if i not in hs_archived]
            + [{"system": "events", "object": "userId", "id": u} for u in user_ids]
            + [{"system": "events", "object": "anonymousId", "id": a} for a in anonymous_ids]
        )
        if len(records) >= 2:
            merges.append(
                {
                    "person_id": person.person_id,
                    "email": person.email,
                    "phone": person.phone.e164 if person.phone else None,
                    "records": records,
                }
            )
        open_in_crm = sf_ids["Lead"] or hs_ids
        if (
            open_in_crm
            and not person.is_customer
            and not person.purchased
            and person.person_id not in triggered
            and person.person_id not in high_engagement
            and person.first_seen < as_of - timedelta(days=NURTURE_AFTER_DAYS + 3)
        ):
            nurtured.append(person.person_id)
    return {
        "seed": seed,
        "as_of": iso_z(as_of),
        "people": people,
        "identity_merges": merges,
        "probabilistic_links": probabilistic,
        "shared_ip_groups": _shared_ip_groups(population, log),
        "identity_traps": identity_traps(population, log, traps),
        "unlinked_anonymous_ids": log.unlinked_anonymous_ids,
        "behaviour_triggers": {
            "window_days": TRIGGER_WINDOW_DAYS,
            "events": triggers,
            "planted": [{**p, "at": iso_z(p["at"])} for p in log.planted_triggers],
            "high_engagement": log.high_engagement,
            "long_nurtured": {"older_than_days": NURTURE_AFTER_DAYS, "person_ids": nurtured},
        },
        "labels": {
            "churn": [
                {"person_id": p.person_id, "churned": p.churned, "propensity": round(p.churn_propensity, 4)}
                for p in population.people
                if p.is_customer
            ],
            "purchase": [
                {
                    "person_id": p.person_id,
                    "purchased": p.purchased,
                    "propensity": round(p.purchase_propensity, 4),
                    "purchased_at": iso_z(p.purchased_at) if p.purchased_at else None,
                }
                for p in population.people
                if not p.is_customer
            ],
        },
        "reps": [
            {
                "email": rep.email,
                "salesforce_user_id": salesforce.user_ids[rep.index],
                "hubspot_owner_id": hubspot.owner_ids.get(rep.index),
                "is_active": rep.is_active,
                "country": rep.country,
            }
            for rep in population.reps
        ],
        "deleted_records": {"salesforce": salesforce.deleted_ids, "hubspot": hubspot.archived_ids},
        # the won Opportunity each purchase made, and who bought (its primary contact role when a Contact)
        "purchase_opportunities": [
            {"opportunity_id": opportunity_id, "person_id": person.person_id}
            for opportunity_id, person in salesforce.buyers.items()
        ],
        # the won HubSpot deal each purchase made, who bought, and the contacts associated with it (the
        # buyer's own when a contact there, often with the company's decision maker)
        "purchase_deals": [
            {"deal_id": deal_id, "person_id": person.person_id, "contact_ids": contact_ids}
            for deal_id, (person, contact_ids) in hubspot.purchase_deals.items()
        ],
        "modstamp_clusters": [
            {**c, "SystemModstamp": iso_z(c["SystemModstamp"])} for c in salesforce.clusters
        ],
        "expected_rejections": files.rejections,
        "event_counts": files.valid_counts,
    }
