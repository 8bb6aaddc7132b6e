"""Who revloop is in a Salesforce org: the id of the user its session runs as.

Salesforce stamps every change with the user who made it (LastModifiedById). A record last modified by
revloop's own user holds no change by anyone else: that is how the change sensor, the sync's echo check
and the survivorship baselines tell revloop's writes from a colleague's, even within the same second.
"""

import logging

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

log = logging.getLogger(__name__)


def integration_user_id(sf: Salesforce) -> str | None:
    """The session's user id: the OpenID Connect UserInfo endpoint, else Connect REST API's users/me (an
    `api`-scope token reaches it). None when neither answers: revloop's writes then cannot be told apart by
    their author, and callers fall back to what they did without it."""
    attempts = (
        ("UserInfo", lambda: (sf.oauth2("userinfo") or {}).get("user_id")),
        ("chatter/users/me", lambda: (sf.restful("chatter/users/me") or {}).get("id")),
    )
    reasons = []
    for name, ask in attempts:
        try:
            user_id = ask()
        except (SalesforceError, ValueError, OSError) as exc:
            reasons.append(f"{name}: {type(exc).__name__} {getattr(exc, 'status', '')}".strip())
            continue
        if user_id:
            return str(user_id)
        reasons.append(f"{name}: no user id in the answer")
    log.warning("Salesforce did not say which user revloop runs as (%s)", "; ".join(reasons))
    return None


def made_by(modified_by: object, user_id: str | None) -> bool:
    """Whether a LastModifiedById names user_id; Salesforce ids compare by their 15-character form."""
    return bool(modified_by and user_id) and str(modified_by)[:15] == str(user_id)[:15]
