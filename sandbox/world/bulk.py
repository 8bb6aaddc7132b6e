"""Millions of valid Segment lines for benchmarks, built from string templates (no per-line Faker or json)."""

import math
import random
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sandbox.world.contact_formats import public_ip
from sandbox.world.timing import normalise_as_of

CHANNEL_SHARES = {"website": 0.45, "email": 0.25, "social": 0.05, "ads": 0.15, "offline": 0.10}
LINES_PER_FILE = 500_000
_WRITE_BATCH = 20_000

_PAGES = (
    "/",
    "/product",
    "/pricing",
    "/pricing/enterprise",
    "/blog/data-quality",
    "/docs/getting-started",
    "/customers",
    "/about",
)
_AGENTS = tuple(
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.{b}.0 "
    f"Safari/537.36"
    for v in range(118, 131)
    for b in (5993, 6099, 6261)
)
# (event, extra properties JSON) per channel; values are plain ASCII, so templates need no escaping
_TRACKS = {
    "website": (
        ("Products Searched", '"query":"lead scoring"'),
        ("Form Submitted", '"form_id":"contact-us"'),
        ("Demo Requested", '"product":"Analytics"'),
        ("Trial Started", '"plan":"team"'),
    ),
    "email": (
        ("Email Opened", '"campaign_name":"Product Update"'),
        (
            "Email Link Clicked",
            '"campaign_name":"Product Update","link_url":"https://www.sellwise.io/pricing"',
        ),
        ("Email Replied", '"campaign_name":"Webinar Invite"'),
        ("Email Forwarded", '"campaign_name":"Case Study"'),
    ),
    "social": (
        ("Social Mention", '"network":"twitter"'),
        ("Social Share", '"network":"linkedin"'),
        ("Social Comment", '"network":"reddit"'),
        ("Social Follow", '"network":"linkedin"'),
    ),
    "ads": (
        ("Ad Impression", '"campaign":"brand-search"'),
        ("Ad Clicked", '"campaign":"retargeting","cost":1.25'),
        ("Ad Conversion", '"campaign":"linkedin-abm","cost":48.5'),
    ),
    "offline": (
        ("Event Attended", '"event_name":"Data Summit"'),
        ("Survey Completed", '"nps":9'),
        ("Support Ticket Created", '"priority":"normal"'),
        ("Order Completed", '"order_id":"ord-{k}","revenue":1499.0,"currency":"USD"'),
    ),
}


class _Identities:
    """Per-person ids and context pieces, precomputed once."""

    def __init__(self, people: int, rng: random.Random) -> None:
        self.anonymous = [f"{rng.getrandbits(128):032x}" for _ in range(people)]
        self.users = [f"usr_{i:09d}" if rng.random() < 0.7 else "" for i in range(people)]
        self.emails = [f"person{i}@company{i % max(1, people // 8)}.example.com" for i in range(people)]
        self.ips = [public_ip(rng) for _ in range(max(1, people // 3))]
        self.agents = [rng.choice(_AGENTS) for _ in range(people)]
        self.devices = [f"dev-{rng.getrandbits(64):016x}" for _ in range(people)]


def _who(ids: _Identities, p: int, channel: str) -> str:
    if channel == "offline":
        return f'"userId":"C{p:08d}"'
    user = ids.users[p]
    return (
        f'"userId":"{user}","anonymousId":"{ids.anonymous[p]}"'
        if user
        else f'"anonymousId":"{ids.anonymous[p]}"'
    )


def _context(ids: _Identities, p: int, channel: str) -> str:
    if channel in ("website", "ads"):
        return (
            f'"context":{{"ip":"{ids.ips[p % len(ids.ips)]}","userAgent":"{ids.agents[p]}",'
            f'"device":{{"id":"{ids.devices[p]}"}}}}'
        )
    return f'"context":{{"traits":{{"email":"{ids.emails[p]}"}}}}'


def _random_ints(rng: random.Random, count: int) -> array:
    """`count` random 32-bit integers drawn at C speed."""
    return array("I", rng.getrandbits(32 * count).to_bytes(4 * count, "little")) if count else array("I")


class _ChannelWriter:
    """Builds the lines of one channel, spread evenly in time over the window of `seconds` from start.

    Message ids start with id_head and the channel's initial; order ids with order_head.
    """

    def __init__(
        self,
        channel: str,
        total: int,
        ids: _Identities,
        rng: random.Random,
        start: datetime,
        seconds: int,
        id_head: str,
        order_head: str = "",
    ) -> None:
        self.channel, self.total, self.ids, self.rng = channel, total, ids, rng
        self.id_head, self.order_head = id_head, order_head
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        self.offset = (start - midnight).seconds
        days = (self.offset + seconds) // 86_400 + 1
        self.prefixes = [(midnight + timedelta(days=d)).strftime("%Y-%m-%dT") for d in range(days)]
        self.clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
        self.span = seconds
        self.who: dict[int, str] = {}  # the same person sends many lines: their ids and context are cached

    def _who(self, p: int) -> str:
        who = self.who.get(p)
        if who is None:
            who = self.who[p] = f"{_who(self.ids, p, self.channel)},{_context(self.ids, p, self.channel)}"
        return who

    def lines(self, first: int, stop: int) -> list[str]:
        """Lines first..stop-1 of the channel."""
        people, span, total, offset = len(self.ids.anonymous), self.span, self.total, self.offset
        prefixes, clock, who_of, cache = self.prefixes, self.clock, self._who, self.who
        head = f'{{"messageId":"{self.id_head}{self.channel[0]}'
        # the message tails are fixed strings: pages on the website, the channel's track events elsewhere
        pages = tuple(
            f'"type":"page","properties":{{"path":"{p}","url":"https://www.sellwise.io{p}"}}}}'
            for p in _PAGES
        )
        tracks = tuple(
            f'"type":"track","event":"{e}","properties":{{{p}}}}}' for e, p in _TRACKS[self.channel]
        )
        is_website = self.channel == "website"
        persons, kinds = _random_ints(self.rng, stop - first), _random_ints(self.rng, stop - first)
        out = []
        append = out.append
        for k, person, kind in zip(range(first, stop), persons, kinds, strict=True):
            second = offset + k * span // total
            p = person % people
            who = cache.get(p) or who_of(p)
            if is_website and kind % 4:
                tail = pages[(kind >> 4) % len(pages)]
            else:
                tail = tracks[(kind >> 8) % len(tracks)]
                if "{k}" in tail:
                    tail = tail.replace("{k}", f"{self.order_head}{k}")
            append(
                f'{head}{k:011d}","timestamp":"{prefixes[second // 86_400]}{clock[second % 86_400]}'
                f'.{k % 1000:03d}Z",{who},{tail}'
            )
        return out


def write_bulk_events(
    events_dir: str | Path,
    events: int,
    people: int,
    seed: int = 7,
    as_of: datetime | None = None,
    days: int = 30,
) -> dict[str, int]:
    """Write `events` valid lines across the five channel folders (plain .jsonl, ~500k lines a file).

    Returns the number of lines written per channel; they add up to `events`.
    """
    if events < 0 or people < 1:
        raise ValueError("events must be >= 0 and people >= 1")
    rng = random.Random(f"{seed}-bulk")
    ids = _Identities(people, rng)
    start = normalise_as_of(as_of) - timedelta(days=days)
    counts = {channel: math.floor(events * share) for channel, share in CHANNEL_SHARES.items()}
    counts["website"] += events - sum(counts.values())
    for channel, total in counts.items():
        folder = Path(events_dir) / channel
        folder.mkdir(parents=True, exist_ok=True)
        files = max(1, math.ceil(total / LINES_PER_FILE))
        writer = _ChannelWriter(channel, total, ids, rng, start, days * 86_400, f"b{seed:x}")
        for number in range(files):
            first = number * total // files
            stop = (number + 1) * total // files
            with open(folder / f"bulk-{seed}-{number + 1:04d}.jsonl", "w", encoding="ascii") as out:
                for batch_start in range(first, stop, _WRITE_BATCH):
                    out.write(
                        "\n".join(writer.lines(batch_start, min(stop, batch_start + _WRITE_BATCH))) + "\n"
                    )
    return counts


def write_hour_of_events(
    events_dir: str | Path, events: int, people: int, seed: int = 7, start: datetime | None = None
) -> dict[str, int]:
    """Write `events` new lines stamped within the hour from start (default: the hour before now), one file a
    channel named hour-<seed>-<start>.jsonl, sent by the same visitors as write_bulk_events' lines of
    (people, seed), under message and order ids of their own.

    Returns the number of lines written per channel; they add up to `events`.
    """
    if events < 0 or people < 1:
        raise ValueError("events must be >= 0 and people >= 1")
    start = normalise_as_of(start) if start else datetime.now(UTC) - timedelta(hours=1)
    start = start.replace(microsecond=0)
    stamp = f"{start:%Y%m%dT%H%M%S}"
    ids = _Identities(people, random.Random(f"{seed}-bulk"))
    rng = random.Random(f"{seed}-hour-{stamp}")
    counts = {channel: math.floor(events * share) for channel, share in CHANNEL_SHARES.items()}
    counts["website"] += events - sum(counts.values())
    for channel, total in counts.items():
        folder = Path(events_dir) / channel
        folder.mkdir(parents=True, exist_ok=True)
        writer = _ChannelWriter(channel, total, ids, rng, start, 3600, f"h{seed:x}{stamp}", f"{stamp}-")
        lines = writer.lines(0, total)
        (folder / f"hour-{seed}-{stamp}.jsonl").write_text("".join(f"{line}\n" for line in lines), "ascii")
    return counts
