"""The ground truth of the synthetic world: companies, people and sales reps, before any system sees them."""

import math
import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from faker import Faker

from sandbox.world.contact_formats import Phone, make_phone, public_ip

# country code -> (country name, Faker locale, company TLD, cities with their phone area codes)
COUNTRIES: dict[str, tuple[str, str, str, tuple[tuple[str, str], ...]]] = {
    "US": (
        "United States",
        "en_US",
        ".com",
        (("San Francisco", "415"), ("New York", "212"), ("Chicago", "312"), ("Austin", "512")),
    ),
    "CA": ("Canada", "en_CA", ".ca", (("Toronto", "416"), ("Vancouver", "604"))),
    "GB": ("United Kingdom", "en_GB", ".co.uk", (("London", "20"), ("Manchester", "161"))),
    "DE": ("Germany", "de_DE", ".de", (("Berlin", "30"), ("Munich", "89"))),
    "FR": ("France", "fr_FR", ".fr", (("Paris", "1"), ("Lyon", "4"))),
    "AU": ("Australia", "en_AU", ".com.au", (("Sydney", "2"), ("Melbourne", "3"))),
}
COUNTRY_WEIGHTS = {"US": 45, "CA": 8, "GB": 17, "DE": 12, "FR": 8, "AU": 10}
FREE_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de")
TITLES = (
    "VP Marketing",
    "Marketing Manager",
    "CTO",
    "Data Engineer",
    "Head of Sales",
    "Operations Manager",
    "CFO",
    "Product Manager",
    "Business Analyst",
    "Director of IT",
    "CEO",
    "Growth Lead",
)
PRODUCTS = ("Analytics", "Platform", "Security", "Integrations")
TERRITORIES = {
    "US": "Sales - North America",
    "CA": "Sales - North America",
    "GB": "Sales - EMEA",
    "DE": "Sales - EMEA",
    "FR": "Sales - EMEA",
    "AU": "Sales - APAC",
}
REP_DOMAIN = "sellwise.io"


@dataclass
class Company:
    """One business, known by its e-mail domain."""

    index: int
    name: str
    domain: str
    industry: int  # index into both CRMs' industry picklists, which are aligned
    employees: int
    revenue: int
    country: str
    city: str
    office_ip: str
    is_customer: bool
    in_salesforce: bool
    in_hubspot: bool
    office_agent: str | None = None  # the browser build the office deploys (identity traps)
    switchboard: Phone | None = None  # the main number some colleagues' CRM records carry


@dataclass
class Rep:
    """A sales rep: a Salesforce User and, for most, a HubSpot owner."""

    index: int
    first_name: str
    last_name: str
    email: str
    country: str
    department: str
    title: str
    is_active: bool
    in_hubspot: bool
    hubspot_email: str | None


@dataclass
class Person:
    """One human being: the identity every system's records should resolve to."""

    person_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: Phone | None
    country: str
    city: str
    title: str
    company: Company | None
    first_seen: datetime
    is_customer: bool
    in_salesforce: bool
    in_hubspot: bool
    owner: Rep
    # latent propensities; labels are drawn from them with noise
    engagement: float
    churn_propensity: float = 0.0
    purchase_propensity: float = 0.0
    churned: bool | None = None
    purchased: bool | None = None
    purchased_at: datetime | None = None
    customer_id: str | None = None
    web_user_id: str | None = None
    # identity traps: the phone is the company's switchboard; browses with the office's browser build
    switchboard: bool = False
    office_browser: bool = False


@dataclass
class Population:
    """Everything the systems will later hold a partial, messy view of."""

    companies: list[Company]
    people: list[Person]
    reps: list[Rep]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters of a name, as e-mail local parts are written."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalpha())


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class _Names:
    """Seeded pools of names per locale: drawing from pools keeps Faker out of the per-person loop."""

    def __init__(self, fake: Faker, rng: random.Random) -> None:
        self._rng = rng
        self.first = {loc: [fake[loc].first_name() for _ in range(120)] for loc in fake.locales}
        self.last = {loc: [fake[loc].last_name() for _ in range(200)] for loc in fake.locales}

    def person(self, locale: str) -> tuple[str, str]:
        return self._rng.choice(self.first[locale]), self._rng.choice(self.last[locale])


def _pick_country(rng: random.Random) -> str:
    return rng.choices(list(COUNTRY_WEIGHTS), weights=list(COUNTRY_WEIGHTS.values()))[0]


def _make_companies(count: int, rng: random.Random, fake: Faker) -> list[Company]:
    companies, domains = [], set()
    for index in range(count):
        country = _pick_country(rng)
        _, locale, tld, cities = COUNTRIES[country]
        name = fake[locale].company()
        stem = "".join(ch for ch in _ascii(name.split()[0].split(",")[0].split("-")[0]))[:14] or "company"
        domain = stem + tld
        suffix = 2
        while domain in domains:
            domain, suffix = f"{stem}{suffix}{tld}", suffix + 1
        domains.add(domain)
        employees = int(min(50_000, max(5, rng.lognormvariate(4.8, 1.4))))
        in_sf = rng.random() < 0.8
        companies.append(
            Company(
                index=index,
                name=name,
                domain=domain,
                industry=rng.randrange(8),
                employees=employees,
                revenue=int(employees * rng.uniform(80_000, 260_000) // 1000 * 1000),
                country=country,
                city=rng.choice(cities)[0],
                office_ip=public_ip(rng),
                is_customer=rng.random() < 0.35,
                in_salesforce=in_sf,
                in_hubspot=(not in_sf) or rng.random() < 0.7,
            )
        )
    return companies


def _make_reps(count: int, rng: random.Random, names: _Names) -> list[Rep]:
    reps = []
    countries = list(COUNTRY_WEIGHTS)
    roles = ("Account Executive", "Sales Development Rep", "Senior Account Executive")
    for index in range(count):
        country = countries[index % len(countries)]
        first, last = names.person(COUNTRIES[country][1])
        email = f"{_ascii(first)}.{_ascii(last)}{index}@{REP_DOMAIN}"
        skills = rng.sample(PRODUCTS, 2)
        in_hubspot = index % 10 != 3  # a few reps only ever got a Salesforce licence
        # one rep's HubSpot login differs in case only, as user admins type them
        hs_email = (email.capitalize() if index % 10 == 5 else email) if in_hubspot else None
        reps.append(
            Rep(
                index=index,
                first_name=first,
                last_name=last,
                email=email,
                country=country,
                department=TERRITORIES[country],
                title=f"{rng.choice(roles)} ({', '.join(skills)})",
                is_active=index % 7 != 6,
                in_hubspot=in_hubspot,
                hubspot_email=hs_email,
            )
        )
    return reps


def email_for(first: str, last: str, domain: str, rng: random.Random, used: set[str]) -> str:
    f, last_ascii = _ascii(first) or "x", _ascii(last) or "y"
    pattern = rng.random()
    if pattern < 0.6:
        local = f"{f}.{last_ascii}"
    elif pattern < 0.8:
        local = f"{f[0]}{last_ascii}"
    else:
        local = f"{f}_{last_ascii}"
    email, n = f"{local}@{domain}", 1
    while email in used:
        n += 1
        email = f"{local}{n}@{domain}"
    used.add(email)
    return email


def make_population(people: int, rng: random.Random, fake: Faker, as_of: datetime) -> Population:
    """Companies, reps and people with their latent propensities and labels."""
    names = _Names(fake, rng)
    companies = _make_companies(max(3, people // 8), rng, fake)
    reps = _make_reps(max(6, min(40, people // 100)), rng, names)
    active_by_country: dict[str, list[Rep]] = {}
    for rep in reps:
        if rep.is_active:
            active_by_country.setdefault(rep.country, []).append(rep)
    used_emails: set[str] = set()
    persons = []
    for index in range(people):
        company = rng.choice(companies) if rng.random() < 0.85 else None
        country = company.country if company else _pick_country(rng)
        name, locale, _, cities = COUNTRIES[country]
        first, last = names.person(locale)
        city, area = next(c for c in cities if c[0] == company.city) if company else rng.choice(cities)
        phone_only = rng.random() < 0.04
        domain = company.domain if company else rng.choice(FREE_MAIL_DOMAINS)
        email = None if phone_only else email_for(first, last, domain, rng, used_emails)
        phone = make_phone(country, area, rng) if (phone_only or rng.random() < 0.7) else None
        presence = rng.random()
        in_sf, in_hs = presence < 0.73, 0.45 <= presence < 0.90
        is_customer = company.is_customer if company else rng.random() < 0.25
        # a rep of the territory usually; some records stay with a rep who has since left
        owners = active_by_country.get(country) or reps
        owner = rng.choice(owners) if rng.random() < 0.92 else rng.choice(reps)
        person = Person(
            person_id=f"P{index + 1:06d}",
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            country=country,
            city=city,
            title=rng.choice(TITLES),
            company=company,
            first_seen=as_of - timedelta(days=rng.uniform(1, 365)),
            is_customer=is_customer,
            in_salesforce=in_sf or phone_only,
            in_hubspot=in_hs and not phone_only,
            owner=owner,
            engagement=min(6.0, rng.lognormvariate(-0.2, 0.6)),
        )
        _plant_labels(person, rng, as_of)
        persons.append(person)
    return Population(companies=companies, people=persons, reps=reps)


def _plant_labels(person: Person, rng: random.Random, as_of: datetime) -> None:
    """Churn for customers, purchase for prospects: a latent score, a noisy label drawn from it."""
    if person.is_customer:
        person.churn_propensity = rng.gauss(0, 1)
        person.churned = rng.random() < _sigmoid(1.8 * person.churn_propensity - 0.9)
        person.customer_id = f"C{1_000_000 + int(person.person_id[1:]):07d}"
        person.first_seen = min(person.first_seen, as_of - timedelta(days=rng.uniform(200, 365)))
    else:
        person.purchase_propensity = rng.gauss(0, 1)
        person.purchased = rng.random() < _sigmoid(1.8 * person.purchase_propensity - 1.3)
        if person.purchased:
            person.first_seen = min(person.first_seen, as_of - timedelta(days=40))
            window = (as_of - person.first_seen - timedelta(days=35)).total_seconds()
            person.purchased_at = person.first_seen + timedelta(days=30, seconds=rng.uniform(0, window))
            person.customer_id = f"C{1_000_000 + int(person.person_id[1:]):07d}"
