"""The messages that carry enrichment facts: survey answers and product usage (features, integrations)."""

from datetime import datetime, timedelta

from sandbox.world.enrichment import MOBILE_OS, PRODUCT_EVENTS, SURVEY_EVENT, Enrichment, PersonFacts
from sandbox.world.events import EventBuilder, WebIdentity
from sandbox.world.population import Person

APP = {"name": "Sellwise", "version": "4.2.0", "build": "4200"}


def emit_enrichment_events(builder: EventBuilder, enrichment: Enrichment) -> None:
    """Append survey and product events to the builder's log (after every other message: its stream of
    random draws for the other messages stays as it was)."""
    for person in builder.population.people:
        facts = enrichment.people[person.person_id]
        if facts.survey:
            _survey(builder, person, facts)
        web = builder.log.web.get(person.person_id)
        if facts.platforms and sends_product_events(person, builder.log.web):
            _product_usage(builder, person, web, facts)


def sends_product_events(person: Person, web: dict[str, WebIdentity]) -> bool:
    """Whether a person's product use reaches the warehouse: a customer's user who logs in on the web."""
    facts_known = person.web_user_id is not None and person.person_id in web
    return facts_known and person.customer_id is not None


def _survey(builder: EventBuilder, person: Person, facts: PersonFacts) -> None:
    # the survey tool knows its respondents: a customer by id, anyone else by the e-mail it was sent to
    traits = {} if person.customer_id else {"email": person.email}
    anonymous_id = None if person.customer_id else f"survey-{person.person_id.lower()}"
    if anonymous_id and person.email:  # its e-mail trait ties it to its person: the truth knows it as theirs
        builder.log.other_anonymous_ids.setdefault(person.person_id, []).append(anonymous_id)
    builder._emit(
        "offline",
        "track",
        facts.survey_at,
        person,
        resolvable=True,
        event=SURVEY_EVENT,
        user_id=person.customer_id,
        anonymous_id=anonymous_id,
        properties={"survey_id": "customer-profile-2026", **facts.survey},
        context={"traits": traits} if traits else None,
    )


def _context(person: Person, web: WebIdentity, facts: PersonFacts, platform: str) -> dict:
    if platform == "web":
        return {"ip": web.home_ip, "userAgent": web.user_agent, "device": {"id": web.device_id},
                **facts.browser_context()}
    os_name, version = MOBILE_OS[platform]
    return {
        "app": APP,
        "os": {"name": os_name, "version": version},
        "device": {"type": platform, "id": f"app-{platform}-{person.person_id.lower()}"},
        "locale": facts.locale,
    }


def _product_usage(builder: EventBuilder, person: Person, web: WebIdentity, facts: PersonFacts) -> None:
    rng, as_of = builder.rng, builder.as_of
    # a customer's users use the product over their last year as customers; churned customers stopped months
    # ago (use only lately would make the churned look the more active months before the as-of)
    end = as_of - timedelta(days=120) if person.churned else as_of - timedelta(hours=1)
    start = max(person.first_seen, end - timedelta(days=365))

    def track(platform: str, at: datetime, event: str, properties: dict) -> None:
        builder._emit(
            "website", "track", at, person, resolvable=True, event=event, user_id=person.web_user_id,
            anonymous_id=web.anonymous_id if platform == "web" else None, properties=properties,
            context=_context(person, web, facts, platform),
        )

    if start < end:
        for platform in facts.platforms:
            for _ in range(rng.randint(3, 10)):
                at = start + (end - start) * rng.random()
                feature = {"feature": rng.choice(("reports", "segments"))}
                track(platform, at, rng.choice(PRODUCT_EVENTS), feature)
    # integrations are connected (and removed) on the platform the person uses first
    platform = facts.platforms[0]
    for integration, (connected, removed) in facts.integrations.items():
        connected = max(person.first_seen, connected)
        track(platform, connected, "Integration Connected", {"integration": integration})
        if removed is not None:
            track(platform, max(connected + timedelta(minutes=1), removed), "Integration Removed",
                  {"integration": integration})
