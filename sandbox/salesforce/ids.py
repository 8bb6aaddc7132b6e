"""Salesforce record ids: 15-character case-sensitive ids with the 3-character case-safe suffix."""

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def case_safe_suffix(id15: str) -> str:
    """The 3 checksum characters Salesforce appends to a 15-character id."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _SUFFIX_CHARS[bits]
    return suffix


def make_id(key_prefix: str, number: int, pod: str = "5g") -> str:
    """The 18-character id of the number-th record of an object with the given key prefix."""
    body = ""
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        body = _ALPHABET[r] + body
    id15 = f"{key_prefix}{pod}{body}"
    return id15 + case_safe_suffix(id15)


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when value is not a well-formed id."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum() or not value.isascii():
        return None
    id18 = value[:15] + case_safe_suffix(value[:15])
    if len(value) == 18 and value[15:].upper() != id18[15:]:
        return None
    return id18
