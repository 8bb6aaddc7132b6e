"""What people and companies would tell about themselves, and which of their sources tells it.

The truth behind the enrichment columns of customer_profiles: a person's department, browser locale, stated
age and gender, survey answers, product role, platforms and integrations; a company's technology stack.
Drawn from a stream of its own, so that adding these leaves every other stage's output unchanged.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.world.population import Population

# each world title's real department (config enrichment.department_from_title maps only some titles: the
# others' departments are known only where a CRM field or a trait states them)
DEPARTMENTS = {
    "VP Marketing": "Marketing",
    "Marketing Manager": "Marketing",
    "CTO": "Engineering",
    "Data Engineer": "Engineering",
    "Head of Sales": "Sales",
    "Operations Manager": "Operations",
    "CFO": "Finance",
    "Product Manager": "Product",
    "Business Analyst": "Finance",
    "Director of IT": "IT",
    "CEO": "Executive",
    "Growth Lead": "Marketing",
}
# browser locales per country: mostly the country's own, some an English browser
LOCALES = {
    "US": ("en-US", "en-US", "en-US", "es-US"),
    "CA": ("en-CA", "en-CA", "fr-CA"),
    "GB": ("en-GB",),
    "DE": ("de-DE", "de-DE", "de-DE", "en-US"),
    "FR": ("fr-FR", "fr-FR", "fr-FR", "en-GB"),
    "AU": ("en-AU",),
}
# the options of HubSpot's company property web_technologies (and of the Salesforce Account field)
TECHNOLOGIES = (
    "Google Analytics", "Google Tag Manager", "HubSpot", "Salesforce", "Segment", "Shopify", "Stripe",
    "WordPress", "Zendesk", "Intercom", "Marketo", "Hotjar",
)
INTEGRATIONS = ("salesforce", "hubspot", "slack", "snowflake", "zendesk", "stripe")
ROLES = ("admin", "editor", "analyst", "viewer")
GENDERS = ("female", "male", "non-binary")
# survey questions and the answers people give: the last answer of each is one config maps to nothing
SURVEY = {
    "what_matters_most": (
        "Saving my team time", "Keeping our data private", "Trying new things first",
        "Getting the best price", "Prefer not to say",
    ),
    "free_time": ("Outdoors and sport", "Time with family", "Travelling", "Reading and culture", "Other"),
    "work_style": (
        "I plan everything ahead", "I compare the numbers", "I decide with my team", "I go with my gut",
        "It depends",
    ),
    "household_income": ("Under 50k", "50k to 100k", "100k to 200k", "Over 200k", "Prefer not to say"),
    "preferred_channel": ("E-mail", "Phone", "Social media", "In person", "No preference"),
}
SURVEY_EVENT = "Survey Completed"
PRODUCT_EVENTS = ("Feature Used", "Report Exported")
MOBILE_OS = {"ios": ("iOS", "17.5"), "android": ("Android", "14")}


@dataclass
class PersonFacts:
    """One person's enrichment truth, and which sources will state it."""

    department: str
    locale: str
    crm_department: bool  # their Salesforce Contact's Department / HubSpot contact's job_function hold it
    # their website tracking sends context.locale (False: pages tagged with a minimal snippet that omits it)
    sends_locale: bool = True
    # their browser's Accept-Language language as the collector keeps it (None: their browser's messages
    # reach revloop through Segment's cloud, which keeps no request header)
    accept_language: str | None = None
    age: int | None = None  # stated in identify traits
    gender: str | None = None  # stated in identify traits
    role: str | None = None  # product users: identify trait role
    survey: dict[str, str] = field(default_factory=dict)  # question -> answer
    survey_at: datetime | None = None
    platforms: tuple[str, ...] = ()  # where they use the product: web, ios, android
    # integration -> (connected at, removed at or None)
    integrations: dict[str, tuple[datetime, datetime | None]] = field(default_factory=dict)

    def browser_context(self) -> dict:
        """What their browser's website messages carry about language: context.locale and the collector's
        context.accept_language, where each is sent."""
        context = {"locale": self.locale} if self.sends_locale else {}
        if self.accept_language is not None:
            context["accept_language"] = self.accept_language
        return context

    def stated_traits(self) -> dict:
        """The traits their identify calls add."""
        traits: dict = {}
        if self.age is not None:
            traits["age"] = self.age
        if self.gender is not None:
            traits["gender"] = self.gender.capitalize()
        if self.role is not None:
            traits["role"] = self.role
        return traits

    @property
    def integration_count(self) -> int | None:
        """Integrations connected and not removed; None for someone with no integration events."""
        if not self.integrations:
            return None
        return sum(1 for _, removed in self.integrations.values() if removed is None)


@dataclass
class Enrichment:
    """The facts of every person and company."""

    people: dict[str, PersonFacts]
    technologies: dict[int, tuple[str, ...]]  # company index -> its stack (companies whose site is known)
    salesforce_technologies: set[int]  # companies whose Account's Technologies__c lists the stack

    def technologies_of(self, company_index: int, salesforce: bool) -> str | None:
        """The ";"-separated stack a CRM holds for a company (Salesforce only for some), None for none."""
        stack = self.technologies.get(company_index)
        if not stack or (salesforce and company_index not in self.salesforce_technologies):
            return None
        return ";".join(stack)


def make_enrichment(population: Population, rng: random.Random, as_of: datetime) -> Enrichment:
    """Draw everyone's facts: rates as a B2B vendor's data has them (surveys and stated ages are rare)."""
    people = {}
    for person in population.people:
        facts = PersonFacts(
            department=DEPARTMENTS[person.title],
            locale=rng.choice(LOCALES[person.country]),
            crm_department=rng.random() < 0.55,
        )
        if rng.random() < 0.15:
            facts.age = rng.randint(22, 64)
        if rng.random() < 0.2:
            facts.gender = rng.choice(GENDERS)
        if (person.email or person.customer_id) and rng.random() < 0.2:
            facts.survey = {q: rng.choice(answers) for q, answers in SURVEY.items() if rng.random() < 0.85}
            facts.survey_at = as_of - timedelta(days=rng.uniform(1, 300))
        if person.customer_id:
            _product_user(facts, rng, as_of)
        people[person.person_id] = facts
    technologies = {
        company.index: tuple(sorted(rng.sample(TECHNOLOGIES, rng.randint(2, 6))))
        for company in population.companies
        if rng.random() < 0.7
    }
    in_salesforce = {index for index in technologies if rng.random() < 0.5}
    # drawn last, so that every fact above stays as it was drawn before
    for person in population.people:
        _browser_language(people[person.person_id], rng)
    return Enrichment(people, technologies, in_salesforce)


def _browser_language(facts: PersonFacts, rng: random.Random) -> None:
    """Whether their browser's messages carry context.locale and the collector's Accept-Language language.

    The browser's language setting drives both, so they agree; the header's best range is the locale, or
    only its language for some browsers (de-DE -> de).
    """
    facts.sends_locale = rng.random() >= 0.12
    if rng.random() < 0.75:
        facts.accept_language = rng.choice((facts.locale, facts.locale, facts.locale.split("-")[0]))


def _product_user(facts: PersonFacts, rng: random.Random, as_of: datetime) -> None:
    """A customer's user: a role, the platforms they use and the integrations they connect (their events
    reach the warehouse only for those who log in on the website: sandbox/world/enrichment_events.py)."""
    facts.role = rng.choice(ROLES)
    platforms = ["web"] if rng.random() < 0.9 else []
    if rng.random() < 0.3:
        platforms.append(rng.choice(tuple(MOBILE_OS)))
    facts.platforms = tuple(platforms or ["web"])
    if rng.random() < 0.7:
        for integration in rng.sample(INTEGRATIONS, rng.randint(1, 4)):
            connected = as_of - timedelta(days=rng.uniform(20, 300))
            removed = connected + timedelta(days=rng.uniform(1, 15)) if rng.random() < 0.2 else None
            facts.integrations[integration] = (connected, removed)
