"""Phone numbers and e-mail addresses written the many ways people and systems write them."""

import random
from dataclasses import dataclass

# country -> (calling code, digits of the subscriber number after the area code, its first digit)
_NUMBERING = {
    "US": ("1", 7, "23456789"),
    "CA": ("1", 7, "23456789"),
    "GB": ("44", 8, "37"),
    "DE": ("49", 8, "2345678"),
    "FR": ("33", 8, "4"),
    "AU": ("61", 8, "9"),
}


@dataclass(frozen=True)
class Phone:
    """A phone number: its country, E.164 form and the digit groups people write it in."""

    country: str
    calling_code: str
    groups: tuple[str, ...]

    @property
    def e164(self) -> str:
        return f"+{self.calling_code}{''.join(self.groups)}"

    def variants(self) -> tuple[str, ...]:
        """Spellings of this number seen in CRMs and forms; all parse to the same E.164 number."""
        cc, g = self.calling_code, self.groups
        spaced = " ".join(g)
        common = (f"+{cc} {spaced}", self.e164)
        if cc == "1":
            return common + (f"({g[0]}) {g[1]}-{g[2]}", f"{g[0]}.{g[1]}.{g[2]}", f"1-{g[0]}-{g[1]}-{g[2]}")
        if self.country == "AU":  # Australia dials out with 0011, so the 00 spelling is European only
            return common + (f"(0{g[0]}) {' '.join(g[1:])}",)
        return common + (f"00{cc} {spaced}", f"0{spaced}")


def make_phone(country: str, area: str, rng: random.Random) -> Phone:
    """A random number in the given area, shaped like the country's real numbers."""
    calling_code, length, first_digits = _NUMBERING[country]
    if country == "GB":  # UK area code and subscriber number together have 10 digits
        length = 10 - len(area)
    subscriber = rng.choice(first_digits) + "".join(rng.choice("0123456789") for _ in range(length - 1))
    if calling_code == "1":
        groups = (area, subscriber[:3], subscriber[3:])
    elif country == "FR":
        groups = (area, *(subscriber[i : i + 2] for i in range(0, 8, 2)))
    elif country == "DE":
        groups = (area, subscriber)
    else:
        half = len(subscriber) // 2
        groups = (area, subscriber[:half], subscriber[half:])
    return Phone(country, calling_code, groups)


def vary_phone(phone: Phone, rng: random.Random) -> str:
    """One of the number's spellings."""
    return rng.choice(phone.variants())


# first octets of public unicast space: no private (10, 172, 192), loopback (127) or reserved ranges
_PUBLIC_FIRST_OCTETS = tuple(n for n in range(24, 224) if n not in (100, 127, 169, 172, 192, 198, 203))


def public_ip(rng: random.Random) -> str:
    """A random IPv4 address from public address space."""
    first = rng.choice(_PUBLIC_FIRST_OCTETS)
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def vary_email(email: str, rng: random.Random, messy: float = 0.3) -> str:
    """The address as typed: usually as is, sometimes in other case or with stray whitespace."""
    roll = rng.random()
    if roll >= messy:
        return email
    local, domain = email.split("@")
    roll /= messy
    if roll < 0.35:
        return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
    if roll < 0.6:
        return email.upper()
    if roll < 0.85:
        return "  " + ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize() + " "
    return email + " "
