"""The HubSpot portal's view of the world: owners, contacts, companies, deals, tasks and associations."""

import random
from datetime import datetime, timedelta

from sandbox.hubspot.schema import INDUSTRIES
from sandbox.world.contact_formats import vary_phone
from sandbox.world.enrichment import Enrichment
from sandbox.world.population import COUNTRIES, PRODUCTS, Company, Person, Population
from sandbox.world.timing import iso_z, ms, stamps

OPEN_DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
)
# HubSpot numbers each object type's records independently; distinct ranges keep test output readable.
_FIRST_ID = {"contacts": 1001, "companies": 5_000_001, "deals": 9_000_001, "tasks": 12_000_001}


class HubSpotBuilder:
    """Builds the portal's seed records from the population and notes which ids belong to which person."""

    def __init__(
        self, population: Population, rng: random.Random, as_of: datetime, facts: Enrichment | None = None
    ) -> None:
        self.population, self.rng, self.as_of = population, rng, as_of
        self.facts = facts  # departments and technology stacks (drawn before: no random draws here)
        self.start = as_of - timedelta(days=365)
        self.records: dict[str, list[dict]] = {"contacts": [], "companies": [], "deals": [], "tasks": []}
        self.owners: list[dict] = []
        self.associations: list[tuple[str, str, str, str]] = []
        self.owner_ids: dict[int, str] = {}
        self.company_ids: dict[int, str] = {}
        self.contacts_by_company: dict[int, list[str]] = {}
        self.person_ids: dict[str, list[str]] = {}
        self.archived_ids: dict[str, list[str]] = {"contacts": [], "companies": [], "deals": []}

    def build(self) -> None:
        self._owners()
        self._companies()
        for person in self.population.people:
            if person.in_hubspot:
                self._person(person)
        self._deals()
        self._archive()

    def _record(self, object_type: str, properties: dict, created: datetime, updated: datetime) -> dict:
        record = {
            "id": str(_FIRST_ID[object_type] + len(self.records[object_type])),
            "properties": {k: v for k, v in properties.items() if v is not None},
            "createdAt": created,
            "updatedAt": updated,
            "archived": False,
        }
        self.records[object_type].append(record)
        return record

    def _owners(self) -> None:
        for rep in self.population.reps:
            if not rep.in_hubspot:
                continue
            owner_id = str(31_000_000 + 7 * rep.index)
            self.owners.append(
                {
                    "id": owner_id,
                    "email": rep.hubspot_email,
                    "firstName": rep.first_name,
                    "lastName": rep.last_name,
                    "userId": 5_100_000 + rep.index,
                    "teams": [
                        {
                            "id": str(900 + list(COUNTRIES).index(rep.country)),
                            "name": rep.department,
                            "primary": True,
                        }
                    ],
                    "archived": not rep.is_active,
                }
            )
            self.owner_ids[rep.index] = owner_id
        # marketing operations works in HubSpot only and never gets records assigned by Salesforce
        self.owners.append(
            {
                "id": "31999999",
                "email": "marketing.ops@sellwise.io",
                "firstName": "Marketing",
                "lastName": "Ops",
                "userId": 5_199_999,
                "teams": [],
                "archived": False,
            }
        )

    def _owner_of(self, rep_index: int) -> str:
        return self.owner_ids.get(rep_index, "31999999")

    def _companies(self) -> None:
        for company in self.population.companies:
            if not company.in_hubspot:
                continue
            created, updated = stamps(self.start, self.as_of - timedelta(days=30), self.as_of, self.rng)
            record = self._record(
                "companies",
                {
                    "name": company.name,
                    "domain": company.domain,
                    "industry": INDUSTRIES[company.industry],
                    "annualrevenue": str(company.revenue),
                    "numberofemployees": str(company.employees),
                    "country": COUNTRIES[company.country][0],
                    "city": company.city,
                    "lifecyclestage": "customer" if company.is_customer else "lead",
                    "hubspot_owner_id": self._owner_of(company.index % len(self.population.reps)),
                    "web_technologies": self._technologies(company),
                },
                created,
                updated,
            )
            self.company_ids[company.index] = record["id"]

    def _lifecycle(self, person: Person) -> tuple[str, str | None]:
        if person.is_customer or person.purchased:
            return "customer", None
        stage = self.rng.choices(
            ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity"),
            weights=(2, 6, 2, 1, 1),
        )[0]
        return stage, self.rng.choice(("NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED"))

    def _person(self, person: Person) -> None:
        rng = self.rng
        company = person.company
        created, updated = stamps(person.first_seen, person.first_seen + timedelta(days=3), self.as_of, rng)
        stage, status = self._lifecycle(person)
        properties = {
            "email": person.email,
            "firstname": person.first_name,
            "lastname": person.last_name,
            "phone": vary_phone(person.phone, rng) if person.phone else None,
            "company": company.name if company else None,
            "jobtitle": person.title,
            "job_function": self._department(person),
            "industry": INDUSTRIES[company.industry] if company else None,
            "country": COUNTRIES[person.country][0],
            "city": person.city,
            "website": company.domain if company else None,
            "lifecyclestage": stage,
            "hs_lead_status": status,
            "hubspot_owner_id": self._owner_of(person.owner.index),
        }
        self._contact(person, properties, created, updated)
        if person.phone and rng.random() < 0.06 and not person.switchboard:
            # HubSpot de-duplicates on e-mail only: a form fill without e-mail makes a second contact
            duplicate = dict(
                properties,
                email=None,
                phone=vary_phone(person.phone, rng),
                lifecyclestage="lead",
                hs_lead_status="NEW",
            )
            dup_created = ms(
                min(self.as_of - timedelta(hours=1), created + timedelta(days=rng.uniform(1, 90)))
            )
            self._contact(person, duplicate, dup_created, dup_created)
        if rng.random() < 0.12:
            self._task(person)

    def _technologies(self, company: Company) -> str | None:
        return self.facts.technologies_of(company.index, False) if self.facts else None

    def _department(self, person: Person) -> str | None:
        facts = self.facts.people[person.person_id] if self.facts else None
        return facts.department if facts and facts.crm_department else None

    def _contact(self, person: Person, properties: dict, created: datetime, updated: datetime) -> None:
        record = self._record("contacts", properties, created, updated)
        self.person_ids.setdefault(person.person_id, []).append(record["id"])
        if person.company and person.company.index in self.company_ids:
            self.associations.append(
                ("contacts", record["id"], "companies", self.company_ids[person.company.index])
            )
            self.contacts_by_company.setdefault(person.company.index, []).append(record["id"])

    def _task(self, person: Person) -> None:
        rng = self.rng
        contact_id = self.person_ids[person.person_id][0]
        created, updated = stamps(person.first_seen, self.as_of - timedelta(days=1), self.as_of, rng)
        due = created + timedelta(days=rng.randint(1, 10))
        record = self._record(
            "tasks",
            {
                "hs_timestamp": iso_z(due),
                "hs_task_subject": f"Follow up with {person.first_name}",
                "hs_task_body": "Check interest after last touchpoint",
                "hs_task_status": rng.choice(("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED")),
                "hs_task_priority": rng.choice(("LOW", "MEDIUM", "HIGH")),
                "hs_task_type": rng.choice(("CALL", "EMAIL", "TODO")),
                "hubspot_owner_id": self._owner_of(person.owner.index),
            },
            created,
            updated,
        )
        self.associations.append(("tasks", record["id"], "contacts", contact_id))

    def _deal(self, company: Company, stage: str, close: datetime) -> None:
        rng = self.rng
        created = ms(
            max(
                self.start, min(close - timedelta(days=rng.uniform(20, 120)), self.as_of - timedelta(hours=2))
            )
        )
        updated = ms(
            min(
                self.as_of - timedelta(minutes=5),
                max(created, close if stage.startswith("closed") else created + (self.as_of - created) / 2),
            )
        )
        record = self._record(
            "deals",
            {
                "dealname": f"{company.name} - {rng.choice(PRODUCTS)}",
                "amount": str(rng.randrange(5_000, 250_000, 500)),
                "dealstage": stage,
                "pipeline": "default",
                "closedate": iso_z(ms(close)),
                "hubspot_owner_id": self._owner_of(company.index % len(self.population.reps)),
            },
            created,
            updated,
        )
        self.associations.append(("deals", record["id"], "companies", self.company_ids[company.index]))
        contacts = self.contacts_by_company.get(company.index)
        if contacts:
            self.associations.append(("deals", record["id"], "contacts", rng.choice(contacts)))

    def _deals(self) -> None:
        rng = self.rng
        companies = {c.index: c for c in self.population.companies if c.index in self.company_ids}
        for person in self.population.people:
            if person.purchased and person.company and person.company.index in companies:
                self._deal(person.company, "closedwon", person.purchased_at)
        for company in companies.values():
            if company.is_customer:
                self._deal(company, "closedwon", self.as_of - timedelta(days=rng.uniform(200, 360)))
            if rng.random() < 0.4:
                if rng.random() < 0.3:
                    self._deal(company, "closedlost", self.as_of - timedelta(days=rng.uniform(5, 300)))
                else:
                    self._deal(
                        company,
                        rng.choice(OPEN_DEAL_STAGES),
                        self.as_of + timedelta(days=rng.uniform(5, 120)),
                    )

    def _archive(self) -> None:
        """A few records someone deleted: HubSpot keeps them as archived."""
        for object_type, share in (("contacts", 0.02), ("companies", 0.01), ("deals", 0.01)):
            records = self.records[object_type]
            for record in self.rng.sample(records, max(1, int(len(records) * share)) if records else 0):
                record["archived"] = True
                self.archived_ids[object_type].append(record["id"])
