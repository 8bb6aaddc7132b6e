"""Wrong-merge guard: a profile should not hold two records of one CRM object with no e-mail in common.

A Salesforce contact (or lead, or HubSpot contact) is one person in its CRM; two of them with different
e-mails in one profile are either a CRM duplicate whose e-mail changed or two people merged by mistake.
"""

from pathlib import Path

from identity.records import CRM_SYSTEMS
from revloop.checks import CheckOutcome, rounded
from revloop.warehouse import connect_warehouse, table_exists

EXAMPLES = 5
PROFILE_MAP, IDENTITY_RECORDS = "identity.profile_map", "intermediate.int_identity_records"
# Pairs of records of one profile and one CRM object (system and record type) whose e-mail sets are disjoint.
CONFLICTS_SQL = f"""
with emails as (
    select distinct m.profile_id, r.source_system, r.source_record_type, r.source_id,
        lower(trim(r.email)) as email
    from identity.profile_map m
    join intermediate.int_identity_records r using (source_system, source_record_type, source_id)
    where r.source_system in {CRM_SYSTEMS} and nullif(trim(r.email), '') is not null
),
records as (
    select profile_id, source_system, source_record_type, source_id, list(email) as emails
    from emails group by all
)
select a.profile_id, a.source_system, a.source_record_type, a.source_id, b.source_id
from records a join records b
    on a.profile_id = b.profile_id and a.source_system = b.source_system
    and a.source_record_type = b.source_record_type and a.source_id < b.source_id
where not list_has_any(a.emails, b.emails)
order by all
"""


def conflicting_crm_emails(warehouse: Path) -> CheckOutcome:
    """Passes when no profile holds two records of one CRM object that share no e-mail."""
    if not warehouse.exists():
        return CheckOutcome(True, f"no warehouse at {warehouse} yet: nothing to check")
    with connect_warehouse(warehouse, read_only=True) as con:
        missing = [t for t in (PROFILE_MAP, IDENTITY_RECORDS) if not table_exists(con, t)]
        if missing:
            return CheckOutcome(True, f"{' and '.join(missing)} not built yet: nothing to check")
        pairs = con.execute(CONFLICTS_SQL).fetchall()
        profiles = con.execute("select count(distinct profile_id) from identity.profile_map").fetchall()[0][0]
    flagged = sorted({pair[0] for pair in pairs})
    metadata: dict[str, float | int | str] = {
        "profiles": profiles,
        "conflicting_profiles": len(flagged),
        "conflicting_record_pairs": len(pairs),
        "conflicting_share": rounded(len(flagged) / profiles if profiles else 0.0),
    }
    if not pairs:
        return CheckOutcome(True, "no profile holds two records of one CRM object with different e-mails",
                            metadata)
    examples = [f"{p}: {system} {kind} {a} / {b}" for p, system, kind, a, b in pairs[:EXAMPLES]]
    metadata["examples"] = "; ".join(examples)
    summary = f"{len(flagged)} profile(s) hold two records of one CRM object with different e-mails"
    return CheckOutcome(False, summary, metadata)
