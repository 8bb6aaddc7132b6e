"""The preferred language of an Accept-Language request header (RFC 9110 section 12.5.4)."""

import re

# language-range (RFC 4647): 1*8ALPHA *("-" 1*8alphanum); weight: OWS ";" OWS "q=" qvalue
_RANGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_WEIGHT = re.compile(r"[ \t]*;[ \t]*[qQ]=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
_MAX_HEADER_CHARS = 1024


def best_language(header: str | None) -> str | None:
    """The language range with the highest weight (the first of equals), or None.

    Strict: a member that is not `language-range [weight]` is skipped, as are '*' (any language says
    nothing about the person) and ranges of weight 0 (not acceptable). A header longer than
    1024 characters is ignored.
    """
    if not header or len(header) > _MAX_HEADER_CHARS:
        return None
    best, best_weight = None, 0.0
    for member in header.split(","):
        member = member.strip(" \t")
        if not member:
            continue  # RFC 9110 list syntax allows empty elements
        match = _RANGE.match(member)
        if match is None:
            continue
        rest = member[match.end():]
        weight = 1.0
        if rest:
            found = _WEIGHT.fullmatch(rest)
            if found is None:
                continue
            weight = float(found.group(1))
        if weight > best_weight:
            best, best_weight = match.group(0), weight
    return best
