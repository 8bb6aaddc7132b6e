"""The Salesforce org's view of the world: Users, Accounts, Leads, Contacts, Opportunities (with their
contact roles) and Tasks."""

import random
from datetime import datetime, timedelta

from sandbox.salesforce.ids import make_id
from sandbox.salesforce.schema import CONTACT_ROLES, INDUSTRIES, KEY_PREFIXES, LEAD_SOURCES
from sandbox.world.contact_formats import vary_email, vary_phone
from sandbox.world.enrichment import Enrichment
from sandbox.world.population import COUNTRIES, PRODUCTS, Company, Person, Population, Rep
from sandbox.world.timing import ms, stamps

STAGE_PROBABILITY = {
    "Prospecting": 10,
    "Qualification": 10,
    "Needs Analysis": 20,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")
_NAME_SUFFIX = {"Existing Business": "renewal", "New Business": "deal"}
TASK_SUBJECTS = (
    ("Call", "Call"),
    ("Send follow-up email", "Email"),
    ("Demo prep", "Task"),
    ("Intro call", "Call"),
    ("Send pricing", "Email"),
    ("Check in", "Task"),
)


class SalesforceBuilder:
    """Builds the org's records from the population and notes which ids belong to which person."""

    def __init__(
        self, population: Population, rng: random.Random, as_of: datetime, facts: Enrichment | None = None
    ) -> None:
        self.population, self.rng, self.as_of = population, rng, as_of
        self.facts = facts  # departments and technology stacks (drawn before: no random draws here)
        self.start = as_of - timedelta(days=365)
        objects = ("User", "Account", "Lead", "Contact", "Opportunity", "Task", "OpportunityContactRole")
        self.records: dict[str, list[dict]] = {name: [] for name in objects}
        self.user_ids: dict[int, str] = {}
        self.account_ids: dict[int, str] = {}
        self.deleted_ids: list[str] = []
        self.person_ids: dict[str, dict[str, list[str]]] = {}  # person -> {"Lead": [...], "Contact": [...]}
        self.clusters: list[dict] = []
        self.buyers: dict[str, Person] = {}  # a won Opportunity -> the person whose purchase it records

    def _new_id(self, object_name: str) -> str:
        return make_id(KEY_PREFIXES[object_name], len(self.records[object_name]) + 1)

    def _system(self, object_name: str, created: datetime, modified: datetime, owner: str | None) -> dict:
        record = {
            "Id": self._new_id(object_name),
            "IsDeleted": False,
            "CreatedDate": created,
            "CreatedById": self.admin_id,
            "LastModifiedDate": modified,
            "LastModifiedById": owner or self.admin_id,
            "SystemModstamp": modified,
        }
        if owner:
            record["OwnerId"] = owner
        return record

    def build(self) -> dict[str, list[dict]]:
        self._users()
        self._accounts()
        for person in self.population.people:
            if person.in_salesforce:
                self._person(person)
        self._opportunities()
        self._tasks()
        self._clusters()
        # last, so that every record before it comes out as it did before contact roles were seeded
        self._contact_roles()
        return self.records

    def _users(self) -> None:
        created = ms(self.start - timedelta(days=400))
        admin = {
            "Id": self._new_id("User"),
            "Username": "admin@sellwise.io.sandbox",
            "FirstName": "Sandbox",
            "LastName": "Admin",
            "Name": "Sandbox Admin",
            "Email": "admin@sellwise.io",
            "IsActive": True,
            "Title": "System Administrator",
            "Department": "IT",
            "Country": "United States",
            "CreatedDate": created,
            "LastModifiedDate": created,
            "SystemModstamp": created,
        }
        self.records["User"].append(admin)
        self.admin_id = admin["Id"]
        for rep in self.population.reps:
            user_created, modified = stamps(
                self.start - timedelta(days=300), self.start, self.as_of, self.rng
            )
            user = {
                "Id": self._new_id("User"),
                "Username": f"{rep.email}.sandbox",
                "FirstName": rep.first_name,
                "LastName": rep.last_name,
                "Name": f"{rep.first_name} {rep.last_name}",
                "Email": rep.email,
                "IsActive": rep.is_active,
                "Title": rep.title,
                "Department": rep.department,
                "Country": COUNTRIES[rep.country][0],
                "CreatedDate": user_created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
            self.records["User"].append(user)
            self.user_ids[rep.index] = user["Id"]

    def _owner(self, rep: Rep) -> str:
        return self.user_ids[rep.index]

    def _accounts(self) -> None:
        reps = self.population.reps
        for company in self.population.companies:
            if not company.in_salesforce:
                continue
            created, modified = stamps(self.start, self.as_of - timedelta(days=30), self.as_of, self.rng)
            record = self._system("Account", created, modified, self._owner(reps[company.index % len(reps)]))
            record.update(
                {
                    "Name": company.name,
                    "Website": f"https://www.{company.domain}" if self.rng.random() < 0.7 else company.domain,
                    "Industry": INDUSTRIES[company.industry],
                    "AnnualRevenue": company.revenue,
                    "NumberOfEmployees": company.employees,
                    "BillingCountry": COUNTRIES[company.country][0],
                    "BillingCity": company.city,
                    "Type": "Customer - Direct" if company.is_customer else "Prospect",
                    "Technologies__c": self._technologies(company),
                }
            )
            self.records["Account"].append(record)
            self.account_ids[company.index] = record["Id"]

    def _technologies(self, company: Company) -> str | None:
        return self.facts.technologies_of(company.index, True) if self.facts else None

    def _department(self, person: Person) -> str | None:
        facts = self.facts.people[person.person_id] if self.facts else None
        return facts.department if facts and facts.crm_department else None

    def _note(self, person: Person, object_name: str, record_id: str) -> None:
        self.person_ids.setdefault(person.person_id, {"Lead": [], "Contact": []})[object_name].append(
            record_id
        )

    def _person(self, person: Person) -> None:
        rng = self.rng
        company = person.company
        is_contact = (
            company is not None
            and company.index in self.account_ids
            and (person.is_customer or person.purchased or rng.random() < 0.35)
        )
        created, modified = stamps(person.first_seen, person.first_seen + timedelta(days=2), self.as_of, rng)
        if is_contact:
            contact = self._contact(person, company, created, modified)
            if rng.random() < 0.5:  # this contact began life as a lead that was converted
                self._lead(person, created - timedelta(days=rng.uniform(1, 20)), converted_to=contact["Id"])
        else:
            self._lead(person, created)
        if rng.random() < 0.06:  # the same person entered again by another rep or import
            duplicate = self._lead(person, created + timedelta(days=rng.uniform(1, 60)), duplicate=True)
            if rng.random() < 0.3:
                duplicate["IsDeleted"] = True
                self.deleted_ids.append(duplicate["Id"])

    def _email_phone(self, person: Person, messy: float) -> tuple[str | None, str | None]:
        email = vary_email(person.email, self.rng, messy) if person.email else None
        phone = vary_phone(person.phone, self.rng) if person.phone else None
        return email, phone

    def _lead(
        self, person: Person, created: datetime, converted_to: str | None = None, duplicate: bool = False
    ) -> dict:
        rng = self.rng
        created = ms(max(self.start, min(created, self.as_of - timedelta(hours=1))))
        modified = ms(created + (self.as_of - created) * rng.random() ** 2)
        record = self._system("Lead", created, modified, self._owner(person.owner))
        email, phone = self._email_phone(person, 1.0 if duplicate else 0.2)
        if duplicate and email and person.phone and rng.random() < 0.4 and not person.switchboard:
            email = None  # a call-in duplicate with only a phone (from a switchboard it would be nobody's)
        company = person.company
        if converted_to:
            status = "Closed - Converted"
        else:
            status = rng.choices(
                ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted"), weights=(5, 3, 1)
            )[0]
        record.update(
            {
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Name": f"{person.first_name} {person.last_name}",
                "Email": email,
                "Phone": phone,
                "Company": company.name if company else "Individual",
                "Title": person.title,
                "Industry": INDUSTRIES[company.industry] if company and rng.random() < 0.8 else None,
                "LeadSource": "Phone Inquiry" if not person.email else rng.choice(LEAD_SOURCES),
                "Status": status,
                "Country": COUNTRIES[person.country][0],
                "City": person.city,
                "AnnualRevenue": company.revenue if company and rng.random() < 0.5 else None,
                "NumberOfEmployees": company.employees if company and rng.random() < 0.5 else None,
                "IsConverted": converted_to is not None,
                "ConvertedContactId": converted_to,
            }
        )
        self.records["Lead"].append(record)
        self._note(person, "Lead", record["Id"])
        return record

    def _contact(self, person: Person, company: Company, created: datetime, modified: datetime) -> dict:
        rng = self.rng
        record = self._system("Contact", created, modified, self._owner(person.owner))
        email, phone = self._email_phone(person, 0.2)
        record.update(
            {
                "AccountId": self.account_ids[company.index],
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Name": f"{person.first_name} {person.last_name}",
                "Email": email,
                "Phone": phone,
                "MobilePhone": vary_phone(person.phone, rng) if person.phone and rng.random() < 0.2 else None,
                "Title": person.title,
                "Department": self._department(person),
                "LeadSource": rng.choice(LEAD_SOURCES),
                "MailingCountry": COUNTRIES[person.country][0],
                "MailingCity": person.city,
            }
        )
        self.records["Contact"].append(record)
        self._note(person, "Contact", record["Id"])
        return record

    def _opportunity(self, company: Company, stage: str, close: datetime, owner: str, kind: str) -> dict:
        rng = self.rng
        created = ms(
            max(
                self.start, min(close - timedelta(days=rng.uniform(20, 120)), self.as_of - timedelta(hours=2))
            )
        )
        modified = ms(
            min(
                self.as_of - timedelta(minutes=5),
                max(created, close if stage.startswith("Closed") else created + (self.as_of - created) / 2),
            )
        )
        record = self._system("Opportunity", created, modified, owner)
        record.update(
            {
                "AccountId": self.account_ids[company.index],
                "Name": f"{company.name} - {rng.choice(PRODUCTS)} {_NAME_SUFFIX[kind]}",
                "StageName": stage,
                "Amount": float(rng.randrange(5_000, 250_000, 500)),
                "CloseDate": close.date() if isinstance(close, datetime) else close,
                "Probability": STAGE_PROBABILITY[stage],
                "IsClosed": stage.startswith("Closed"),
                "IsWon": stage == "Closed Won",
                "LeadSource": rng.choice(LEAD_SOURCES),
                "Type": kind,
            }
        )
        self.records["Opportunity"].append(record)
        return record

    def _opportunities(self) -> None:
        rng = self.rng
        accounts = {c.index: c for c in self.population.companies if c.index in self.account_ids}
        purchases: dict[int, list[tuple[Person, datetime]]] = {}
        for person in self.population.people:
            if person.purchased and person.company and person.company.index in accounts:
                purchases.setdefault(person.company.index, []).append((person, person.purchased_at))
        for index, company in accounts.items():
            owner = self._owner(self.population.reps[index % len(self.population.reps)])
            for buyer, won_at in purchases.get(index, []):
                won = self._opportunity(company, "Closed Won", won_at, owner, "New Business")
                self.buyers[won["Id"]] = buyer
            if company.is_customer:
                for _ in range(rng.randint(1, 2)):
                    won = self.as_of - timedelta(days=rng.uniform(200, 360))
                    self._opportunity(company, "Closed Won", won, owner, "New Business")
            if rng.random() < 0.45:
                if rng.random() < 0.3:
                    lost = self.as_of - timedelta(days=rng.uniform(5, 300))
                    self._opportunity(company, "Closed Lost", lost, owner, "New Business")
                else:
                    close = self.as_of + timedelta(days=rng.uniform(5, 120))
                    kind = "Existing Business" if company.is_customer else "New Business"
                    self._opportunity(company, rng.choice(OPEN_STAGES), close, owner, kind)
        for record in rng.sample(self.records["Opportunity"], min(2, len(self.records["Opportunity"]) // 20)):
            record["IsDeleted"] = True
            self.deleted_ids.append(record["Id"])

    def _contact_roles(self) -> None:
        """Up to three Contacts of its Account on each Opportunity, one of them primary: the buyer, on the
        Opportunity of a purchase, when the buyer is a Contact there. Roles of a deleted Opportunity are
        deleted with it."""
        rng = self.rng
        contacts_by_account: dict[str, list[dict]] = {}
        for contact in self.records["Contact"]:
            contacts_by_account.setdefault(contact["AccountId"], []).append(contact)
        for opportunity in self.records["Opportunity"]:
            contacts = contacts_by_account.get(opportunity["AccountId"], [])
            if not contacts:
                continue
            buyer = self.buyers.get(opportunity["Id"])
            buyer_ids = set(self.person_ids.get(buyer.person_id, {}).get("Contact", [])) if buyer else set()
            chosen = [c for c in contacts if c["Id"] in buyer_ids][:1]
            others = [c for c in contacts if c not in chosen]
            chosen += rng.sample(others, min(len(others), rng.randint(0 if chosen else 1, 3 - len(chosen))))
            for position, contact in enumerate(chosen):
                created = ms(max(opportunity["CreatedDate"], contact["CreatedDate"]))
                modified = max(created, opportunity["SystemModstamp"])
                record = self._system("OpportunityContactRole", created, modified, None)
                record.update(
                    {
                        "OpportunityId": opportunity["Id"],
                        "ContactId": contact["Id"],
                        "Role": "Economic Buyer" if contact["Id"] in buyer_ids else rng.choice(CONTACT_ROLES),
                        "IsPrimary": position == 0,
                        "IsDeleted": opportunity["IsDeleted"],
                    }
                )
                self.records["OpportunityContactRole"].append(record)
                if record["IsDeleted"]:
                    self.deleted_ids.append(record["Id"])

    def _tasks(self) -> None:
        rng = self.rng
        whos = [r for r in self.records["Lead"] + self.records["Contact"] if not r["IsDeleted"]]
        if not whos:
            return
        wanted = max(self._cluster_size() + len(self.population.people) // 4, len(whos) // 2)
        opportunities_by_account: dict[str, list[str]] = {}
        for opp in self.records["Opportunity"]:
            opportunities_by_account.setdefault(opp["AccountId"], []).append(opp["Id"])
        latest = self.as_of - timedelta(days=3)
        for _ in range(wanted):
            who = rng.choice(whos)
            created = ms(who["CreatedDate"] + max(timedelta(0), latest - who["CreatedDate"]) * rng.random())
            modified = ms(created + (self.as_of - created) * rng.random() * 0.2)
            record = self._system("Task", created, modified, who["OwnerId"])
            subject, subtype = rng.choice(TASK_SUBJECTS)
            status = rng.choices(("Not Started", "In Progress", "Completed"), weights=(2, 1, 5))[0]
            what = None
            if "AccountId" in who and rng.random() < 0.5:
                opps = opportunities_by_account.get(who["AccountId"])
                what = rng.choice(opps) if opps else who["AccountId"]
            record.update(
                {
                    "WhoId": who["Id"],
                    "WhatId": what,
                    "Subject": subject,
                    "Description": f"{subject} with {who['FirstName']} {who['LastName']}",
                    "Status": status,
                    "Priority": rng.choices(("High", "Normal", "Low"), weights=(1, 4, 1))[0],
                    "ActivityDate": (created + timedelta(days=rng.randint(0, 14))).date(),
                    "IsClosed": status == "Completed",
                    "TaskSubtype": subtype,
                }
            )
            self.records["Task"].append(record)

    def _cluster_size(self) -> int:
        # 2100 for 2000 people: enough to straddle a 2000-record query page
        return max(3, round(len(self.population.people) * 1.05))

    def _clusters(self) -> None:
        """Mass updates that give many records one identical SystemModstamp (cursor tie-breaking)."""
        for object_name, size, moment in (
            (
                "Task",
                self._cluster_size(),
                self.as_of - timedelta(days=2) + timedelta(hours=3, minutes=17, seconds=42),
            ),
            ("Lead", None, self.as_of - timedelta(days=10) + timedelta(hours=11, minutes=5)),
        ):
            eligible = [r for r in self.records[object_name] if r["CreatedDate"] <= moment]
            if size is None:
                size = max(2, len(eligible) // 7)
            chosen = sorted(self.rng.sample(range(len(eligible)), min(size, len(eligible))))
            for position in chosen:
                eligible[position]["LastModifiedDate"] = eligible[position]["SystemModstamp"] = moment
            self.clusters.append({"object": object_name, "SystemModstamp": moment, "count": len(chosen)})
