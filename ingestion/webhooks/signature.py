"""HubSpot's v3 request signature (X-HubSpot-Signature-v3): checked in constant time, stale requests refused.

The signed text is method + URI + body + timestamp, where the URI is the full URL HubSpot called with a
fixed set of percent-escapes decoded; the signature is the base64 of its HMAC-SHA256 under the app's
client secret. HubSpot says to refuse a request whose timestamp is more than five minutes old.
"""

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
# A timestamp this far ahead of our clock is refused too: it would stay "fresh" for longer than five minutes.
MAX_AHEAD_MS = 60 * 1000
# The escapes HubSpot decodes in the URI before signing (its request-validation guide lists these).
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}


class SignatureRejected(ValueError):
    """A request whose v3 signature is missing, wrong or stale; the message says which, never a secret."""


def signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded (either case), nothing else."""
    out, i = [], 0
    while i < len(uri):
        escape = uri[i : i + 3].upper()
        if escape in _DECODED:
            out.append(_DECODED[escape])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The base64 HMAC-SHA256 HubSpot would send for this request."""
    text = method.upper().encode() + signed_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()


def verify_v3(
    secret: str, method: str, uri: str, body: bytes, timestamp: str | None, signature: str | None,
    now_ms: int,
) -> None:
    """Return when the request is HubSpot's and fresh; raise SignatureRejected saying why not."""
    if not signature or not timestamp:
        raise SignatureRejected(f"missing {SIGNATURE_HEADER if not signature else TIMESTAMP_HEADER} header")
    if not timestamp.strip().isdigit():
        raise SignatureRejected(f"{TIMESTAMP_HEADER} is not milliseconds since the epoch")
    age = now_ms - int(timestamp)
    if age > MAX_AGE_MS:
        raise SignatureRejected(f"request timestamp is {age // 1000} s old (at most {MAX_AGE_MS // 1000} s)")
    if age < -MAX_AHEAD_MS:
        raise SignatureRejected(f"request timestamp is {-age // 1000} s in the future")
    expected = v3_signature(secret, method, uri, body, timestamp.strip())
    # compare_digest on bytes: constant time, and no error for non-ASCII input
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureRejected("signature does not match (check HUBSPOT_CLIENT_SECRET and the public URL)")
