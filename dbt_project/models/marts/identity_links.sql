-- Every source record tied to a profile, and why: the rule or keys that matched and the confidence.
select
    profile_id,
    source_system,
    source_id,
    source_record_type,
    match_type,
    confidence,
    matched_on,
    first_linked_at as linked_at,
    updated_at
from {{ ref('int_identities_resolved') }}
