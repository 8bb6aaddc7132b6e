"""Segment Spec messages of the five channels, with planted behaviour, identities and propensities."""

import bisect
import itertools
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sandbox.hubspot.schema import INDUSTRIES
from sandbox.world.contact_formats import public_ip, vary_email, vary_phone
from sandbox.world.enrichment import Enrichment
from sandbox.world.population import COUNTRIES, PRODUCTS, Person, Population
from sandbox.world.timing import iso_z

CHANNELS = ("website", "email", "social", "ads", "offline")
SITE = "https://www.sellwise.io"
_PAGES = (
    "/",
    "/product",
    "/product/analytics",
    "/product/security",
    "/blog/revenue-ops-101",
    "/blog/data-quality",
    "/docs/getting-started",
    "/customers",
    "/about",
    "/careers",
)
_PRICING_PAGES = ("/pricing", "/pricing/enterprise", "/pricing?plan=team")
_SEARCHES = ("crm sync", "lead scoring", "pricing", "salesforce integration", "identity resolution", "api")
_FORMS = ("newsletter", "contact-us", "webinar-signup", "ebook-download")
_CAMPAIGNS = ("Q1 Newsletter", "Product Update", "Webinar Invite", "Case Study", "Renewal Reminder")
_NETWORKS = ("twitter", "linkedin", "facebook", "reddit")
_BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.{b}.{p} Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.{b}.{p} Safari/537.36 Edg/{v}.0.{b}.{p}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0.{p}",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{p} like Mac OS X) AppleWebKit/605.1.{b} (KHTML, like Gecko) "
    "Version/17.{p} Mobile/15E{v} Safari/604.1",
)
_CET_SUMMER = timezone(timedelta(hours=2))
_EMAIL_EVENTS = ("Email Opened", "Email Link Clicked", "Email Replied", "Email Forwarded")
_EMAIL_WEIGHTS = list(itertools.accumulate((75, 12, 5, 8)))
_AD_EVENTS = ("Ad Impression", "Ad Clicked", "Ad Conversion")
_AD_WEIGHTS = list(itertools.accumulate((75, 20, 5)))


@dataclass
class Event:
    """One generated message and what the generator knows about it."""

    at: datetime
    channel: str
    message: dict
    person_id: str | None  # who really sent it (None: an anonymous visitor who is nobody in the CRMs)
    resolvable: bool  # whether a deterministic key (userId, identified anonymousId, e-mail, phone) links it


@dataclass
class WebIdentity:
    """How one person shows up on the website."""

    anonymous_id: str
    device_id: str
    user_agent: str
    home_ip: str
    identified_at: datetime | None
    second_anonymous_id: str | None = None
    second_signal: str | None = None  # device_id | ip_user_agent


@dataclass
class EventLog:
    """All messages plus the identities the generator planted."""

    events: list[Event] = field(default_factory=list)
    web: dict[str, WebIdentity] = field(default_factory=dict)
    other_anonymous_ids: dict[str, list[str]] = field(default_factory=dict)  # person -> esp/badge/social ids
    unlinked_anonymous_ids: list[str] = field(default_factory=list)
    office_strangers: list[dict] = field(default_factory=list)  # anonymous visitors behind an office IP
    planted_triggers: list[dict] = field(default_factory=list)
    high_engagement: list[str] = field(default_factory=list)


def _pick(rng: random.Random, options: tuple[str, ...], cumulative: list[float]) -> str:
    """A weighted choice from precomputed cumulative weights (random.choices recomputes them per call)."""
    return options[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _poisson(lam: float, rng: random.Random) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class EventBuilder:
    """Generates every channel's messages for the population."""

    def __init__(
        self, population: Population, rng: random.Random, as_of: datetime, facts: Enrichment | None = None
    ) -> None:
        self.population, self.rng, self.as_of = population, rng, as_of
        # locales and stated traits (no random draws here: the facts were drawn before)
        self.facts = facts
        self.start = as_of - timedelta(days=365)
        self.log = EventLog()
        self._planted_by_person: dict[str, list[dict]] = {}

    # --- message plumbing -------------------------------------------------------------------------------
    def _timestamp(self, at: datetime) -> str:
        roll = self.rng.random()
        if roll < 0.85:
            return iso_z(at)
        if roll < 0.97:
            return at.isoformat(timespec="milliseconds")  # +00:00 instead of Z
        return at.astimezone(_CET_SUMMER).isoformat(timespec="seconds")  # a sender in local time

    def _emit(
        self,
        channel: str,
        kind: str,
        at: datetime,
        person: Person | None,
        *,
        resolvable: bool,
        event: str | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        properties: dict | None = None,
        traits: dict | None = None,
        context: dict | None = None,
    ) -> None:
        message: dict = {
            "type": kind,
            "messageId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "timestamp": self._timestamp(at),
        }
        if event:
            message["event"] = event
        if user_id:
            message["userId"] = user_id
        if anonymous_id:
            message["anonymousId"] = anonymous_id
        if properties is not None:
            message["properties"] = properties
        if traits is not None:
            message["traits"] = traits
        if context:
            message["context"] = context
        self.log.events.append(Event(at, channel, message, person.person_id if person else None, resolvable))

    def _uniform_time(self, low: datetime, high: datetime) -> datetime:
        return low + (high - low) * self.rng.random()

    def _user_agent(self) -> str:
        rng = self.rng
        return rng.choice(_BROWSERS).format(
            v=rng.randint(110, 131), b=rng.randint(1000, 6999), p=rng.randint(1, 199)
        )

    def _ip(self) -> str:
        return public_ip(self.rng)

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    # --- people ---------------------------------------------------------------------------------------
    def build(self) -> EventLog:
        people = self.population.people
        for person in people:
            self._web_identity(person)
        self._plan_behaviour(people)
        for person in people:
            self._person_events(person)
        self._link_channel_ids()
        self._anonymous_visitors(max(3, len(people) // 4))
        self._office_strangers()
        return self.log

    def _link_channel_ids(self) -> None:
        """A social handle or badge id is linked once any of its messages carries an e-mail or phone."""
        linked: dict[str, str] = {}
        # a switchboard number is the company's, not the person's: it links nobody
        switchboard = {p.person_id for p in self.population.people if p.switchboard}
        for event in self.log.events:
            anonymous_id = event.message.get("anonymousId", "")
            traits = event.message.get("context", {}).get("traits") or {}
            personal = traits.get("email") or (traits.get("phone") and event.person_id not in switchboard)
            if anonymous_id.startswith(("sm-", "badge-")) and personal:
                linked[anonymous_id] = event.person_id
        for event in self.log.events:
            if event.message.get("anonymousId") in linked:
                event.resolvable = True
        for anonymous_id, person_id in linked.items():
            self.log.other_anonymous_ids.setdefault(person_id, []).append(anonymous_id)

    def _web_identity(self, person: Person) -> None:
        rng = self.rng
        if rng.random() > 0.85:
            return
        identified = rng.random() < 0.75 and person.email is not None
        identified_at = None
        if identified:
            identified_at = person.first_seen + (self.as_of - person.first_seen) * rng.random() * 0.3
            person.web_user_id = f"usr_{self._hex(12)}"
        identity = WebIdentity(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            f"dev-{self._hex(16)}",
            self._user_agent(),
            self._ip(),
            identified_at,
        )
        if person.office_browser and person.company and person.company.office_agent:
            identity.user_agent = person.company.office_agent  # colleagues' browsers are one build
        if identified and rng.random() < 0.3:
            # a second browser cookie that never logs in: only device or ip + user agent tie it to the person
            identity.second_anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            identity.second_signal = "device_id" if rng.random() < 0.5 else "ip_user_agent"
        self.log.web[person.person_id] = identity

    def _plan_behaviour(self, people: list[Person]) -> None:
        """Pick people who show buying behaviour in the days before as_of, and a few very engaged ones."""
        rng = self.rng
        candidates = [
            p
            for p in people
            if p.person_id in self.log.web and p.web_user_id and not p.is_customer and not p.purchased
        ]
        for trigger, share in (("demo_request", 0.05), ("pricing_page_visit", 0.05), ("trial_signup", 0.04)):
            for person in rng.sample(candidates, int(len(candidates) * share)):
                at = self.as_of - timedelta(days=rng.uniform(0.1, 5))
                planted = {"person_id": person.person_id, "trigger": trigger, "at": at}
                self.log.planted_triggers.append(planted)
                self._planted_by_person.setdefault(person.person_id, []).append(planted)
        self.log.high_engagement = [p.person_id for p in rng.sample(candidates, int(len(candidates) * 0.04))]
        self._high_engagement = set(self.log.high_engagement)

    def _rate_multiplier(self, person: Person) -> tuple[float, float]:
        """Engagement at the start and at the end of the year; customers who churn fade away."""
        if not person.is_customer:
            return 1.0, 1.0
        end = math.exp(-1.1 * person.churn_propensity + self.rng.gauss(0, 0.6))
        if person.churned:
            end *= 0.35
        return 1.0, min(1.6, max(0.04, end))

    def _times(self, person: Person, count: int, begin: float, end: float) -> list[datetime]:
        rng, span = self.rng, (self.as_of - person.first_seen)
        top = max(begin, end)
        times = []
        while len(times) < count:
            x = rng.random()
            if rng.random() * top <= begin + (end - begin) * x:
                times.append(person.first_seen + span * x)
        return times

    def _person_events(self, person: Person) -> None:
        rng = self.rng
        weeks = (self.as_of - person.first_seen).days / 7
        begin, end = self._rate_multiplier(person)
        count = _poisson(person.engagement * weeks * 0.55 * (begin + end) / 2, rng)
        web = self.log.web.get(person.person_id)
        channels = self._channel_weights(person, web)
        for at in self._times(person, count, begin, end):
            self._generic(person, web, at, _pick(rng, CHANNELS, channels))
        self._intent(person, web)
        self._orders(person)
        if web and web.identified_at:
            self._identify(person, web)
        for planted in self._planted_by_person.get(person.person_id, []):
            self._trigger_event(person, web, planted["trigger"], planted["at"])
        if person.person_id in self._high_engagement:
            for _ in range(rng.randint(20, 35)):
                at = self.as_of - timedelta(days=rng.uniform(0.1, 14))
                if rng.random() < 0.6:
                    self._page(person, web, at, rng.choice(_PAGES))
                else:
                    self._email(person, at, rng.choice(("Email Opened", "Email Link Clicked")))

    def _channel_weights(self, person: Person, web: WebIdentity | None) -> list[float]:
        """Cumulative weights of the channels this person can appear in."""
        weights = (
            0.45 if web else 0,
            0.3 if person.email else 0,
            0.05,
            0.12 if web else 0,
            0.08 + (0.08 if person.customer_id else 0),
        )
        return list(itertools.accumulate(weights))

    def _generic(self, person: Person, web: WebIdentity | None, at: datetime, channel: str) -> None:
        rng = self.rng
        if channel == "website":
            roll = rng.random()
            if roll < 0.72:
                self._page(person, web, at, rng.choice(_PAGES))
            elif roll < 0.82:
                self._web_track(person, web, at, "Products Searched", {"query": rng.choice(_SEARCHES)})
            elif roll < 0.9:
                self._web_track(person, web, at, "Form Submitted", {"form_id": rng.choice(_FORMS)})
            else:
                self._web_track(person, web, at, "Video Played", {"video_id": f"vid-{rng.randint(1, 40)}"})
        elif channel == "email":
            self._email(person, at, _pick(rng, _EMAIL_EVENTS, _EMAIL_WEIGHTS))
        elif channel == "ads":
            event = _pick(rng, _AD_EVENTS, _AD_WEIGHTS)
            self._ad(person, web, at, event)
        elif channel == "social":
            self._social(person, at)
        else:
            self._offline(
                person,
                at,
                rng.choice(
                    ("Event Attended", "Survey Completed", "Support Ticket Created")
                    if person.customer_id
                    else ("Event Attended", "Survey Completed")
                ),
            )

    def _locale(self, person: Person) -> dict:
        """context.locale of the person's browser, as analytics.js sends it, and the language of its
        Accept-Language header, as revloop's collector keeps it (where each is sent)."""
        return self.facts.people[person.person_id].browser_context() if self.facts else {}

    def _web_context(self, person: Person, web: WebIdentity, second: bool) -> dict:
        rng = self.rng
        if second and web.second_signal == "device_id":
            return {"ip": self._ip(), "userAgent": self._user_agent(), "device": {"id": web.device_id},
                    **self._locale(person)}
        if second:  # the same browser from home in a private window: a new cookie and no stored device id
            return {"ip": web.home_ip, "userAgent": web.user_agent, **self._locale(person)}
        office = person.company is not None and rng.random() < 0.6
        return {
            "ip": person.company.office_ip if office else web.home_ip,
            "userAgent": web.user_agent,
            "device": {"id": web.device_id},
            **self._locale(person),
        }

    def _web_ids(self, web: WebIdentity, at: datetime, person: Person) -> tuple[str | None, str, bool, bool]:
        """userId, anonymousId, whether the second cookie is used, whether a deterministic key links it."""
        second = web.second_anonymous_id is not None and self.rng.random() < 0.25
        if second:
            return None, web.second_anonymous_id, True, False
        logged_in = web.identified_at is not None and at >= web.identified_at
        return (
            (person.web_user_id if logged_in else None),
            web.anonymous_id,
            False,
            web.identified_at is not None,
        )

    def _page(self, person: Person, web: WebIdentity | None, at: datetime, path: str) -> None:
        if web is None:
            return
        user_id, anonymous_id, second, resolvable = self._web_ids(web, at, person)
        title = path.strip("/").split("?")[0].replace("/", " - ").title() or "Home"
        self._emit(
            "website",
            "page",
            at,
            person,
            resolvable=resolvable,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties={
                "path": path,
                "url": SITE + path,
                "title": title,
                "referrer": self.rng.choice(("", "https://www.google.com/")),
            },
            context=self._web_context(person, web, second),
        )
        self.log.events[-1].message["name"] = title

    def _web_track(
        self,
        person: Person,
        web: WebIdentity | None,
        at: datetime,
        event: str,
        properties: dict,
        force_primary: bool = False,
    ) -> None:
        if web is None:
            return
        if force_primary:
            user_id, anonymous_id, second, resolvable = person.web_user_id, web.anonymous_id, False, True
        else:
            user_id, anonymous_id, second, resolvable = self._web_ids(web, at, person)
        self._emit(
            "website",
            "track",
            at,
            person,
            resolvable=resolvable,
            event=event,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            context=self._web_context(person, web, second),
        )

    def _email(self, person: Person, at: datetime, event: str, link: str | None = None) -> None:
        if person.email is None:
            return
        rng = self.rng
        esp_id = f"esp-{int(person.person_id[1:]) * 7919 % 1_000_003:07d}"
        ids = self.log.other_anonymous_ids.setdefault(person.person_id, [])
        if esp_id not in ids:
            ids.append(esp_id)
        campaign = rng.choice(_CAMPAIGNS)
        properties = {
            "campaign_name": campaign,
            "email_id": f"em-{rng.randint(1000, 9999)}",
            "email_subject": f"{campaign}: what's new",
        }
        if event == "Email Link Clicked":
            properties["link_url"] = SITE + (link or rng.choice(_PAGES))
        self._emit(
            "email",
            "track",
            at,
            person,
            resolvable=True,
            event=event,
            user_id=person.web_user_id,
            anonymous_id=None if person.web_user_id else esp_id,
            properties=properties,
            context={"traits": {"email": vary_email(person.email, rng, 0.3)}},
        )

    def _ad(self, person: Person, web: WebIdentity, at: datetime, event: str) -> None:
        rng = self.rng
        properties = {
            "campaign": rng.choice(("brand-search", "retargeting", "linkedin-abm")),
            "ad_id": f"ad-{rng.randint(100, 999)}",
        }
        context = {"ip": web.home_ip, "userAgent": web.user_agent, "device": {"id": web.device_id}}
        if event != "Ad Impression":
            properties["cost"] = round(
                rng.uniform(0.2, 9.0) if event == "Ad Clicked" else rng.uniform(10, 120), 2
            )
        if event == "Ad Conversion" and person.email:
            context["traits"] = {"email": vary_email(person.email, rng, 0.3)}  # lead-gen form
        self._emit(
            "ads",
            "track",
            at,
            person,
            resolvable=web.identified_at is not None or "traits" in context,
            event=event,
            anonymous_id=web.anonymous_id,
            properties=properties,
            context=context,
        )

    def _social(self, person: Person, at: datetime) -> None:
        rng = self.rng
        handle = f"sm-{int(person.person_id[1:]) * 104729 % 10_000_019:08d}"
        enriched = person.email is not None and rng.random() < 0.5
        self._emit(
            "social",
            "track",
            at,
            person,
            resolvable=enriched,
            event=rng.choice(("Social Mention", "Social Share", "Social Comment", "Social Follow")),
            anonymous_id=handle,
            properties={"network": rng.choice(_NETWORKS), "handle": f"@{handle}"},
            context={"traits": {"email": vary_email(person.email, rng, 0.3)}} if enriched else None,
        )

    def _offline_ids(self, person: Person) -> tuple[str | None, str | None, dict]:
        rng = self.rng
        traits = {}
        if person.email and rng.random() < 0.5:
            traits["email"] = vary_email(person.email, rng, 0.3)
        if person.phone and (not person.email or rng.random() < 0.3):
            traits["phone"] = vary_phone(person.phone, rng)
        if person.customer_id:
            return person.customer_id, None, traits
        return None, f"badge-{int(person.person_id[1:]) * 6151 % 1_000_033:07d}", traits

    def _offline(self, person: Person, at: datetime, event: str, properties: dict | None = None) -> None:
        rng = self.rng
        user_id, anonymous_id, traits = self._offline_ids(person)
        if properties is None:
            properties = {
                "Event Attended": {"event_name": rng.choice(("SaaStr", "Data Summit", "Local Meetup"))},
                "Survey Completed": {"nps": rng.randint(0, 10)},
                "Support Ticket Created": {"priority": rng.choice(("low", "normal", "high"))},
            }[event]
        self._emit(
            "offline",
            "track",
            at,
            person,
            resolvable=bool(user_id or traits),
            event=event,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            context={"traits": traits} if traits else None,
        )

    # --- planted signal ---------------------------------------------------------------------------------
    def _intent(self, person: Person, web: WebIdentity | None) -> None:
        """Pricing, demo, trial and e-mail clicks: more for high purchase propensity, before the purchase."""
        if person.is_customer:
            return
        rng = self.rng
        count = _poisson(1.0 * math.exp(0.8 * person.purchase_propensity), rng)
        low, high = person.first_seen, self.as_of
        if person.purchased:
            count += _poisson(2.0, rng)
            low, high = max(person.first_seen, person.purchased_at - timedelta(days=60)), person.purchased_at
        for _ in range(count):
            self._intent_event(person, web, self._uniform_time(low, high))

    def _intent_event(self, person: Person, web: WebIdentity | None, at: datetime) -> None:
        rng = self.rng
        roll = rng.random()
        if web is None or roll < 0.3:
            self._email(person, at, "Email Link Clicked", link=rng.choice(_PRICING_PAGES))
        elif roll < 0.7:
            self._page(person, web, at, rng.choice(_PRICING_PAGES))
        elif roll < 0.85:
            self._web_track(person, web, at, "Demo Requested", {"product": rng.choice(PRODUCTS)})
        else:
            self._web_track(person, web, at, "Trial Started", {"plan": rng.choice(("team", "business"))})

    def _trigger_event(self, person: Person, web: WebIdentity, trigger: str, at: datetime) -> None:
        if trigger == "pricing_page_visit":
            path = self.rng.choice(_PRICING_PAGES)
            self._emit(
                "website",
                "page",
                at,
                person,
                resolvable=True,
                user_id=person.web_user_id,
                anonymous_id=web.anonymous_id,
                properties={"path": path, "url": SITE + path, "title": "Pricing"},
                context=self._web_context(person, web, False),
            )
        elif trigger == "demo_request":
            self._web_track(person, web, at, "Demo Requested", {"product": self.rng.choice(PRODUCTS)}, True)
        else:
            self._web_track(person, web, at, "Trial Started", {"plan": "team"}, True)

    def _orders(self, person: Person) -> None:
        """Order Completed: steady for loyal customers, none lately for churners, once for new buyers."""
        rng = self.rng
        moments = []
        if person.purchased:
            moments.append(person.purchased_at)
        elif person.is_customer:
            last = (
                self.as_of - timedelta(days=rng.uniform(100, 300))
                if person.churned or rng.random() < 0.15
                else self.as_of - timedelta(days=rng.uniform(1, 90))
            )
            moment = last
            while moment > person.first_seen:
                moments.append(moment)
                moment -= timedelta(days=rng.uniform(45, 120))
        if not moments:
            return
        self._customer_identify(person, min(moments) - timedelta(minutes=5))
        for at in moments:
            self._offline(
                person,
                at,
                "Order Completed",
                {
                    "order_id": f"ord-{self._hex(10)}",
                    "revenue": round(rng.uniform(200, 25_000), 2),
                    "currency": "USD",
                    "products": [{"name": rng.choice(PRODUCTS)}],
                },
            )

    # --- identify calls ---------------------------------------------------------------------------------
    def _traits(self, person: Person) -> dict:
        rng = self.rng
        snake = rng.random() < 0.4  # senders mix Segment's camelCase traits with snake_case
        traits: dict = {}
        if person.email:
            traits["email"] = vary_email(person.email, rng, 0.3)
        if person.phone and rng.random() < 0.6:
            traits["phone"] = vary_phone(person.phone, rng)
        traits["first_name" if snake else "firstName"] = person.first_name
        traits["last_name" if snake else "lastName"] = person.last_name
        traits["title"] = person.title
        if person.company:
            traits["company"] = {
                "name": person.company.name,
                "industry": INDUSTRIES[person.company.industry],
                "employee_count": person.company.employees,
            }
        traits["address"] = {"country": COUNTRIES[person.country][0], "city": person.city}
        traits["created_at" if snake else "createdAt"] = iso_z(person.first_seen)
        if self.facts:
            traits.update(self.facts.people[person.person_id].stated_traits())
        return traits

    def _identify(self, person: Person, web: WebIdentity) -> None:
        self._emit(
            "website",
            "identify",
            web.identified_at,
            person,
            resolvable=True,
            user_id=person.web_user_id,
            anonymous_id=web.anonymous_id,
            traits=self._traits(person),
            context={
                "ip": web.home_ip, "userAgent": web.user_agent, "device": {"id": web.device_id},
                **self._locale(person),
            },
        )

    def _customer_identify(self, person: Person, at: datetime) -> None:
        traits = self._traits(person)
        if not person.email:
            traits["phone"] = vary_phone(person.phone, self.rng)
        self._emit(
            "offline", "identify", at, person, resolvable=True, user_id=person.customer_id, traits=traits
        )

    def _anonymous_visitors(self, count: int) -> None:
        """Visitors who never become anybody: they must stay separate profiles or none at all."""
        rng = self.rng
        for _ in range(count):
            anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            self.log.unlinked_anonymous_ids.append(anonymous_id)
            context = {
                "ip": self._ip(),
                "userAgent": self._user_agent(),
                "device": {"id": f"dev-{self._hex(16)}"},
            }
            for _ in range(rng.randint(1, 6)):
                path = rng.choice(_PAGES + _PRICING_PAGES[:1])
                self._emit(
                    "website",
                    "page",
                    self._uniform_time(self.start, self.as_of),
                    None,
                    resolvable=False,
                    anonymous_id=anonymous_id,
                    properties={"path": path, "url": SITE + path},
                    context=context,
                )

    def _office_strangers(self) -> None:
        """Visitors nobody knows behind the office IP of a known web user, often with the office's browser.

        They share the network (and mostly the browser build) of a known person, never a device: they
        must stay apart from that person.
        """
        rng = self.rng
        known_at: dict[int, str] = {}
        for person in self.population.people:
            web = self.log.web.get(person.person_id)
            if person.company and web and web.identified_at:
                known_at.setdefault(person.company.index, person.person_id)
        for index, known in sorted(known_at.items()):
            if rng.random() >= 0.3:
                continue
            company = self.population.companies[index]
            for _ in range(rng.randint(1, 3)):
                anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                same_browser = rng.random() < 0.7
                context = {
                    "ip": company.office_ip,
                    "userAgent": company.office_agent if same_browser else self._user_agent(),
                    "device": {"id": f"dev-{self._hex(16)}"},
                }
                self.log.unlinked_anonymous_ids.append(anonymous_id)
                self.log.office_strangers.append(
                    {
                        "anonymousId": anonymous_id,
                        "ip": company.office_ip,
                        "company_domain": company.domain,
                        "same_browser": same_browser,
                        "known_person_id": known,
                    }
                )
                for _ in range(rng.randint(1, 6)):
                    path = rng.choice(_PAGES)
                    self._emit(
                        "website",
                        "page",
                        self._uniform_time(self.start, self.as_of),
                        None,
                        resolvable=False,
                        anonymous_id=anonymous_id,
                        properties={"path": path, "url": SITE + path},
                        context=context,
                    )
