"""Identity traps of real B2B data planted in the population: switchboard phones, namesakes, office browsers.

Each is something several different people share, so that identity resolution is tested on evidence that
looks like identity and is not. The events stage adds the two office traps of the website (see
EventBuilder: anonymous colleagues behind the office IP, strangers behind a known person's office IP).
"""

import random
from dataclasses import dataclass, field

from sandbox.world.contact_formats import make_phone
from sandbox.world.population import COUNTRIES, Person, Population, email_for

SWITCHBOARD_SHARE = 0.05  # of the people at a company: their CRM records carry the company's main number
NAMESAKE_SHARE = 0.01  # of the people at a company: renamed after someone at another company
OFFICE_BROWSER_SHARE = 0.5  # of the people at a company: use the browser build the company deploys


@dataclass
class PlantedTraps:
    """Who shares what, for the truth."""

    switchboards: list[dict] = field(default_factory=list)
    namesakes: list[dict] = field(default_factory=list)


def plant_traps(population: Population, rng: random.Random) -> PlantedTraps:
    """Give colleagues a shared switchboard number and a shared browser build, and rename some namesakes."""
    traps = PlantedTraps()
    staff: dict[int, list[Person]] = {}
    for person in population.people:
        if person.company is not None:
            staff.setdefault(person.company.index, []).append(person)
    for company in population.companies:
        company.office_agent = _office_agent(rng)
    for people in staff.values():
        for person in people:
            person.office_browser = rng.random() < OFFICE_BROWSER_SHARE
    _switchboards(population, staff, rng, traps)
    _namesakes(population, staff, rng, traps)
    return traps


def _office_agent(rng: random.Random) -> str:
    """The managed browser build of one office (the events stage gives it to the office_browser people)."""
    return (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{rng.randint(110, 131)}.0.{rng.randint(1000, 6999)}.{rng.randint(1, 199)} Safari/537.36"
    )


def _switchboards(
    population: Population, staff: dict[int, list[Person]], rng: random.Random, traps: PlantedTraps
) -> None:
    """Groups of 2-4 colleagues (with an e-mail, so that they stay findable) get the company's number."""
    wanted = round(SWITCHBOARD_SHARE * sum(len(p) for p in staff.values()))
    companies = [i for i, people in staff.items() if sum(p.email is not None for p in people) >= 2]
    rng.shuffle(companies)
    planted = 0
    for index in companies:
        if planted >= wanted:
            break
        company = population.companies[index]
        colleagues = [p for p in staff[index] if p.email is not None]
        group = rng.sample(colleagues, min(len(colleagues), rng.randint(2, 4)))
        area = next(a for city, a in COUNTRIES[company.country][3] if city == company.city)
        company.switchboard = make_phone(company.country, area, rng)
        for person in group:
            person.phone = company.switchboard
            person.switchboard = True
        planted += len(group)
        traps.switchboards.append(
            {
                "phone": company.switchboard.e164,
                "company_domain": company.domain,
                "person_ids": sorted(p.person_id for p in group),
            }
        )


def _namesakes(
    population: Population, staff: dict[int, list[Person]], rng: random.Random, traps: PlantedTraps
) -> None:
    """Someone takes the first and last name of a person of the same country at another company."""
    employed = [p for people in staff.values() for p in people if p.email is not None]
    by_country: dict[str, list[Person]] = {}
    for person in employed:
        by_country.setdefault(person.country, []).append(person)
    used = {p.email for p in population.people if p.email}
    renamed: set[str] = set()
    for _ in range(round(NAMESAKE_SHARE * len(employed))):
        original = rng.choice(employed)
        namesake = rng.choice(by_country[original.country])
        if namesake.company is original.company or {namesake.person_id, original.person_id} & renamed:
            continue  # a colleague of the same name is one more trap, but not this one
        used.discard(namesake.email)
        namesake.first_name, namesake.last_name = original.first_name, original.last_name
        namesake.email = email_for(
            namesake.first_name, namesake.last_name, namesake.company.domain, rng, used
        )
        renamed.update((original.person_id, namesake.person_id))
        traps.namesakes.append(
            {
                "first_name": original.first_name,
                "last_name": original.last_name,
                "person_ids": sorted((original.person_id, namesake.person_id)),
            }
        )
