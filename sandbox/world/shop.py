"""An events-only ecommerce shop: Segment messages (no CRM), with order histories shaped like real shops'.

Real shops' order histories are sparse: most customers buy once, repeat buyers come back after long gaps,
and each customer silently stops at some point. The generator follows the BG/NBD story (Fader, Hardie and
Lee 2005): each buyer orders at their own rate (gamma-distributed across people) and, after every order,
drops out with their own probability (beta-distributed). Browsing, cart adds and e-mail clicks follow the
same hidden state (active or not, keen or not), so the events say more about the next order than recency,
frequency and money alone. `young_shop()` is a new installation: 300 people and two weeks of events.

The truth keeps every order (also those after as_of, for "who buys in the next 90 days").
"""

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sandbox.world.event_files import EventFiles
from sandbox.world.timing import iso_z, normalise_as_of

SITE = "https://shop.example.com"
PRODUCTS = [
    ("sku-1001", "Trail Running Shoes", 129.0),
    ("sku-1002", "Merino Base Layer", 79.0),
    ("sku-1003", "Insulated Bottle", 32.0),
    ("sku-1004", "Rain Shell Jacket", 219.0),
    ("sku-1005", "Hiking Socks (3 pack)", 24.0),
    ("sku-1006", "Headlamp", 45.0),
    ("sku-1007", "Daypack 22L", 99.0),
    ("sku-1008", "Trekking Poles", 89.0),
]
FUTURE_DAYS = 120  # orders simulated after as_of, kept in the truth only (never written as events)


@dataclass(frozen=True)
class ShopOptions:
    """The knobs of the shop world; the defaults give two years of a small web shop."""

    days: int = 730  # history before as_of
    identified_share: float = 0.9  # people with a userId or an e-mail; the others only browse
    guest_checkout_share: float = 0.2  # of buyers: check out with an e-mail but never log in (no userId)
    conversion: float = 0.45  # identified people who ever place a first order
    repeat_rate_shape: float = 0.6  # gamma shape of the repeat-order rate across buyers
    repeat_rate_mean_days: float = 160.0  # mean days between orders of an active buyer
    dropout_a: float = 1.0  # beta(a, b) of the probability to stop after each order
    dropout_b: float = 1.6
    total_only_share: float = 0.4  # orders that carry `total` only (no `revenue`), some as strings


@dataclass
class Shopper:
    """One person of the shop and their hidden state."""

    person_id: str
    joined_at: datetime
    user_id: str | None
    email: str | None
    anonymous_id: str
    orders: list[datetime] = field(default_factory=list)
    active_until: datetime | None = None  # when they silently stopped (None: never bought)
    identified: bool = False  # a message before as_of carried their userId or e-mail


@dataclass
class ShopWorld:
    """The shop's people, their landing files (one sub-folder per channel) and the truth."""

    seed: int
    as_of: datetime
    options: ShopOptions
    shoppers: list[Shopper]
    event_files: EventFiles

    def write_events(self, events_dir: str | Path) -> list[Path]:
        """Write the event files under events_dir/<channel>/ and return their paths."""
        return self.event_files.write(Path(events_dir))

    @property
    def truth(self) -> dict:
        """Who is identified, and every order before and after as_of."""
        horizon = self.as_of + timedelta(days=90)
        past = {s.person_id: [o for o in s.orders if o < self.as_of] for s in self.shoppers}
        return {
            "seed": self.seed,
            "as_of": iso_z(self.as_of),
            "people": len(self.shoppers),
            "identified_user_ids": sorted(s.user_id for s in self.shoppers if s.identified and s.user_id),
            "identified_emails": sorted(s.email for s in self.shoppers if s.identified and s.email),
            "buyers": sum(1 for orders in past.values() if orders),
            "one_time_buyers": sum(1 for orders in past.values() if len(orders) == 1),
            "orders": sum(len(orders) for orders in past.values()),
            "buyers_next_90_days": sorted(
                s.person_id for s in self.shoppers if any(self.as_of <= o < horizon for o in s.orders)
            ),
        }


class _ShopBuilder:
    def __init__(self, options: ShopOptions, rng: random.Random, as_of: datetime) -> None:
        self.options, self.rng, self.as_of = options, rng, as_of
        self.start = as_of - timedelta(days=options.days)
        self.lines: dict[str, list[tuple[datetime, dict]]] = {"website": [], "email": []}

    # --- messages -----------------------------------------------------------------------------------
    def _emit(self, channel: str, at: datetime, message: dict, shopper: Shopper) -> None:
        if at < self.as_of:
            traits = message.get("traits") or message.get("context", {}).get("traits") or {}
            shopper.identified = shopper.identified or bool(message.get("userId") or traits.get("email"))
            message["messageId"] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            message["timestamp"] = iso_z(at)
            self.lines[channel].append((at, message))

    def _ids(self, shopper: Shopper, logged_in: bool) -> dict:
        ids: dict = {"anonymousId": shopper.anonymous_id}
        if logged_in and shopper.user_id:
            ids["userId"] = shopper.user_id
        return ids

    def _page(self, shopper: Shopper, at: datetime, path: str, logged_in: bool) -> None:
        properties = {"path": path, "url": SITE + path}
        message = {"type": "page", **self._ids(shopper, logged_in), "properties": properties}
        self._emit("website", at, message, shopper)

    def _track(self, shopper: Shopper, at: datetime, event: str, properties: dict, logged_in: bool) -> None:
        message = {"type": "track", "event": event, **self._ids(shopper, logged_in), "properties": properties}
        if not shopper.user_id and shopper.email and logged_in:
            message["context"] = {"traits": {"email": shopper.email}}  # a guest known by e-mail only
        self._emit("website", at, message, shopper)

    def _identify(self, shopper: Shopper, at: datetime) -> None:
        traits = {"email": shopper.email, "createdAt": iso_z(shopper.joined_at)}
        self._emit("website", at, {"type": "identify", **self._ids(shopper, True), "traits": traits}, shopper)

    # --- behaviour ----------------------------------------------------------------------------------
    def _session(self, shopper: Shopper, at: datetime, keen: bool) -> None:
        """A visit: a few pages and product views; a keen visitor (about to buy) adds to the cart."""
        rng = self.rng
        logged_in = shopper.user_id is not None and rng.random() < 0.7
        self._page(shopper, at, rng.choice(["/", "/new", "/sale"]), logged_in)
        for step in range(rng.randint(1, 4 if keen else 2)):
            sku, name, price = rng.choice(PRODUCTS)
            moment = at + timedelta(minutes=2 * step + 1)
            self._page(shopper, moment, f"/products/{sku}", logged_in)
            product = {"product_id": sku, "name": name, "price": price}
            self._track(shopper, moment, "Product Viewed", product, logged_in)
            if keen and rng.random() < 0.5:
                self._track(
                    shopper,
                    moment + timedelta(seconds=40),
                    "Product Added",
                    {**product, "quantity": 1},
                    logged_in,
                )

    def _order(self, shopper: Shopper, at: datetime) -> None:
        rng = self.rng
        items = [rng.choice(PRODUCTS) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        subtotal = round(sum(price for _, _, price in items), 2)
        shipping, tax = (0.0 if subtotal > 100 else 6.95), round(subtotal * 0.08, 2)
        properties: dict = {
            "order_id": f"ord-{rng.getrandbits(40):010x}",
            "currency": "USD",
            "products": [
                {"product_id": sku, "sku": sku, "name": name, "price": price, "quantity": 1}
                for sku, name, price in items
            ],
        }
        total = round(subtotal + shipping + tax, 2)
        if rng.random() < self.options.total_only_share:
            # Segment's spec allows total alone; some shops send it as a string
            properties["total"] = str(total) if rng.random() < 0.5 else total
        else:
            properties.update(revenue=subtotal, shipping=shipping, tax=tax, total=total)
        self._track(shopper, at, "Order Completed", properties, logged_in=True)

    def _newsletter(self, shopper: Shopper) -> None:
        """Weekly newsletter: opened now and then (passive); clicked mostly by active, keen buyers."""
        rng = self.rng
        moment = shopper.joined_at + timedelta(days=rng.uniform(1, 7))
        while moment < self.as_of:
            active = shopper.active_until is not None and moment < shopper.active_until
            ids = {"userId": shopper.user_id} if shopper.user_id else {"anonymousId": shopper.anonymous_id}
            context = {} if shopper.user_id else {"context": {"traits": {"email": shopper.email}}}
            if rng.random() < (0.35 if active else 0.12):
                self._emit(
                    "email",
                    moment,
                    {
                        "type": "track",
                        "event": "Email Opened",
                        **ids,
                        **context,
                        "properties": {"campaign": f"weekly-{moment:%G-%V}"},
                    },
                    shopper,
                )
                if rng.random() < (0.3 if active else 0.04):
                    self._emit(
                        "email",
                        moment + timedelta(minutes=3),
                        {
                            "type": "track",
                            "event": "Email Link Clicked",
                            **ids,
                            **context,
                            "properties": {"campaign": f"weekly-{moment:%G-%V}", "link_url": SITE + "/new"},
                        },
                        shopper,
                    )
            moment += timedelta(days=7)

    def _visits(self, shopper: Shopper, low: datetime, high: datetime, per_day: float, keen: bool) -> None:
        rng = self.rng
        if per_day <= 0:
            return
        moment = low + timedelta(days=rng.expovariate(per_day))
        while moment < high:
            self._session(shopper, moment, keen)
            moment += timedelta(days=rng.expovariate(per_day))

    def shopper(self, index: int) -> Shopper:
        rng, options = self.rng, self.options
        joined = self.start + (self.as_of - self.start) * rng.random()
        identified = rng.random() < options.identified_share
        guest = identified and rng.random() < options.guest_checkout_share
        shopper = Shopper(
            person_id=f"shop-{index:06d}",
            joined_at=joined,
            user_id=f"u{rng.getrandbits(36):09x}" if identified and not guest else None,
            email=f"shopper{index}.{rng.getrandbits(16):04x}@example.net" if identified else None,
            anonymous_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        )
        end = self.as_of + timedelta(days=FUTURE_DAYS)
        self._page(shopper, joined, "/", False)
        if shopper.user_id:
            self._identify(shopper, joined + timedelta(minutes=1))
        if identified and rng.random() < options.conversion:
            rate = rng.gammavariate(options.repeat_rate_shape, 1.0 / options.repeat_rate_shape)
            rate /= options.repeat_rate_mean_days  # orders per day while active
            dropout = rng.betavariate(options.dropout_a, options.dropout_b)
            moment = joined + timedelta(days=rng.expovariate(1 / 6))
            while moment < end:
                shopper.orders.append(moment)
                if rng.random() < dropout:
                    break
                moment += timedelta(days=min(rng.expovariate(rate), 10 * FUTURE_DAYS + self.options.days))
            # an active buyer keeps visiting until they stop; a lapsed one fades out within weeks
            shopper.active_until = moment if moment < end else end
            lapse = shopper.active_until + timedelta(days=rng.expovariate(1 / 20))
            self._visits(shopper, joined, shopper.active_until, 0.02 + 2.5 * rate, keen=False)
            self._visits(shopper, shopper.active_until, lapse, 0.02, keen=False)
            for order in shopper.orders:
                # the visits before an order: product views and cart adds
                for _ in range(rng.randint(1, 3)):
                    before = order - timedelta(days=rng.uniform(0.02, 10))
                    self._session(shopper, max(before, joined), keen=True)
                self._order(shopper, order)
        else:
            self._visits(shopper, joined, joined + timedelta(days=rng.expovariate(1 / 30)), 0.05, keen=False)
        if shopper.email:
            self._newsletter(shopper)
        return shopper

    def files(self) -> EventFiles:
        files = EventFiles()
        for channel, entries in self.lines.items():
            entries.sort(key=lambda entry: (entry[0], entry[1]["messageId"]))
            by_month: dict[str, list[str]] = {}
            for at, message in entries:
                by_month.setdefault(f"{channel}/{channel}-{at:%Y-%m}.jsonl", []).append(_dump(message))
            files.lines.update(by_month)
            files.valid_counts[channel] = len(entries)
        return files


def _dump(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def generate_shop(
    people: int = 2000, seed: int = 7, as_of: datetime | None = None, options: ShopOptions | None = None
) -> ShopWorld:
    """The events-only shop of `people` people; the same seed, as_of and options give the same files."""
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    options = options or ShopOptions()
    as_of = normalise_as_of(as_of)
    builder = _ShopBuilder(options, random.Random(f"{seed}-shop"), as_of)
    shoppers = [builder.shopper(index) for index in range(people)]
    return ShopWorld(seed, as_of, options, shoppers, builder.files())


def young_shop(seed: int = 7, as_of: datetime | None = None, people: int = 300, days: int = 14) -> ShopWorld:
    """A new installation: `people` people and `days` days of events, too young for any label window."""
    return generate_shop(people, seed, as_of, ShopOptions(days=days))
