"""Phone numbers to E.164 with the phonenumbers library, guessing the region of national spellings."""

import re
from functools import cache

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

_FORMATTING = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@cache
def _region_by_country_name() -> dict[str, str]:
    """Lower-case English country names and ISO codes -> phone region, from phonenumbers' own data."""
    from phonenumbers import geocoder  # half a second of data: loaded when a country is first looked up

    regions: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        regions[region.lower()] = region
        example = phonenumbers.example_number(region)
        if example is not None:
            name = geocoder.country_name_for_number(example, "en")
            if name:
                regions.setdefault(name.lower(), region)
    regions.update({"usa": "US", "united states of america": "US", "uk": "GB", "great britain": "GB"})
    return regions


def region_of_country(country: str | None) -> str | None:
    """The phone region of a country written as a name ('United Kingdom') or an ISO code ('GB')."""
    if not country:
        return None
    return _region_by_country_name().get(country.strip().lower())


def is_international(raw: str) -> bool:
    """Whether the number carries its country code (+.. or 00..), so no region is needed to read it."""
    stripped = raw.strip()
    return stripped.startswith("+") or stripped.startswith("00")


@cache
def to_e164(raw: str, region: str) -> str | None:
    """The number in E.164, or None when it is no valid phone number in `region`'s reading."""
    compact = _FORMATTING.sub("", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    # already international and digits only: nothing region-dependent left to read
    if _E164.match(compact) and "(0)" not in raw:
        return compact
    try:
        number = phonenumbers.parse(compact if compact.startswith("+") else raw, region)
    except phonenumbers.NumberParseException:
        return None
    # valid in the region it was read in, else in another region of its country code (a Canadian number read
    # as American): the first test is cheap, the second searches every region of the code (25 share +1)
    if not (phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_e164_many(raw: np.ndarray, region: np.ndarray) -> np.ndarray:
    """to_e164 of each (raw, region): spellings already international in bulk (Arrow), the rest one by one."""
    spelled = pa.array(raw, pa.string())
    compact = pc.replace_substring_regex(spelled, _FORMATTING.pattern, "")
    compact = pc.replace_substring_regex(compact, "^00", "+")
    ready = pc.and_(
        pc.match_substring_regex(compact, _E164.pattern), pc.invert(pc.match_substring(spelled, "(0)"))
    ).to_numpy(zero_copy_only=False)
    normalised = np.where(ready, compact.to_numpy(zero_copy_only=False), None)
    rest = np.flatnonzero(~ready)
    normalised[rest] = [to_e164(r, g) for r, g in zip(raw[rest], region[rest], strict=True)]
    return normalised


@cache
def region_of_e164(e164: str) -> str | None:
    """The main region of an E.164 number's country code."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
