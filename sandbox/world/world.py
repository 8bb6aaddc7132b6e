"""The seeded synthetic world: CRM records, event files and the truth behind them."""

import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from faker import Faker

from sandbox.world.enrichment import Enrichment, make_enrichment
from sandbox.world.enrichment_events import emit_enrichment_events
from sandbox.world.event_files import EventFiles, lay_out
from sandbox.world.events import EventBuilder, EventLog
from sandbox.world.handoff_leads import plant_handoff_leads
from sandbox.world.hubspot_records import HubSpotBuilder
from sandbox.world.population import COUNTRIES, Population, make_population
from sandbox.world.salesforce_records import SalesforceBuilder
from sandbox.world.timing import normalise_as_of
from sandbox.world.traps import PlantedTraps, plant_traps
from sandbox.world.truth import build_truth


@dataclass
class World:
    """Everything one seed produces: seed records for both CRMs, events, and the planted truth."""

    seed: int
    as_of: datetime
    salesforce: dict[str, list[dict]]
    hubspot: dict[str, list[dict]]
    hubspot_owners: list[dict]
    hubspot_associations: list[tuple[str, str, str, str]]
    population: Population = field(repr=False)
    facts: Enrichment = field(repr=False)
    event_log: EventLog = field(repr=False)
    traps: PlantedTraps = field(repr=False)
    _salesforce_builder: SalesforceBuilder = field(repr=False)
    _hubspot_builder: HubSpotBuilder = field(repr=False)

    @cached_property
    def event_files(self) -> EventFiles:
        """The landing files (relative path -> lines) including the planted bad lines."""
        return lay_out(self.event_log.events, random.Random(f"{self.seed}-files"))

    @cached_property
    def truth(self) -> dict:
        """The answer key as a JSON-ready dict."""
        return build_truth(
            self.seed,
            self.as_of,
            self.population,
            self.facts,
            self._salesforce_builder,
            self._hubspot_builder,
            self.event_log,
            self.event_files,
            self.traps,
        )

    def write_events(self, events_dir: str | Path) -> list[Path]:
        """Write the event files under events_dir/<channel>/ and return their paths."""
        return self.event_files.write(Path(events_dir))

    def write_truth(self, path: str | Path) -> Path:
        """Write the truth as JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.truth, indent=1, sort_keys=False))
        return path


def generate_world(
    people: int = 2000, seed: int = 7, as_of: datetime | None = None, handoff_leads: bool = False
) -> World:
    """Generate the world of `people` people; the same seed and as_of always give the same world.

    handoff_leads plants the Leads of sandbox/world/handoff_leads.py (off: every other count unchanged).
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    as_of = normalise_as_of(as_of)
    fake = Faker([locale for _, locale, _, _ in COUNTRIES.values()])
    fake.seed_instance(seed)
    # one random stream per stage, so that changing one stage leaves the others' output unchanged
    population = make_population(people, random.Random(f"{seed}-population"), fake, as_of)
    traps = plant_traps(population, random.Random(f"{seed}-traps"))
    facts = make_enrichment(population, random.Random(f"{seed}-enrichment"), as_of)
    sf = SalesforceBuilder(population, random.Random(f"{seed}-salesforce"), as_of, facts)
    sf.build()
    hs = HubSpotBuilder(population, random.Random(f"{seed}-hubspot"), as_of, facts)
    hs.build()
    events = EventBuilder(population, random.Random(f"{seed}-events"), as_of, facts)
    log = events.build()
    emit_enrichment_events(events, facts)
    world = World(
        seed=seed,
        as_of=as_of,
        salesforce=sf.records,
        hubspot=hs.records,
        hubspot_owners=hs.owners,
        hubspot_associations=hs.associations,
        population=population,
        facts=facts,
        event_log=log,
        traps=traps,
        _salesforce_builder=sf,
        _hubspot_builder=hs,
    )
    if handoff_leads:
        plant_handoff_leads(world)
    return world
