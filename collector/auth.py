"""Write keys (Segment's basic auth or body writeKey) and the profile API's bearer token, compared safely."""

import base64
import binascii
import hmac
from collections.abc import Mapping


def basic_auth_user(header: str | None) -> str | None:
    """The user name of a Basic Authorization header (Segment's write key), None when there is none."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    # "key:" as the SDKs send it; a bare "key" is still accepted by Segment for old senders.
    return decoded.split(":", 1)[0] or None


def bearer_token(header: str | None) -> str | None:
    """The token of a Bearer Authorization header, None when there is none."""
    if not header or not header[:7].lower() == "bearer ":
        return None
    return header[7:].strip() or None


def channel_for(write_key: str | None, keys: Mapping[str, str]) -> str | None:
    """The channel of a write key, compared in constant time against every configured key."""
    found = None
    if write_key:
        for key, channel in keys.items():
            if hmac.compare_digest(key.encode(), write_key.encode()):
                found = channel
    return found


def token_matches(token: str | None, expected: str | None) -> bool:
    """Whether a presented bearer token is the configured one (never when none is configured)."""
    return bool(token and expected) and hmac.compare_digest(token.encode(), expected.encode())
