-- The profile of every resolved source record, as the identity step left it in identity.profile_map.
with profile_map as (
    {{ source_or_empty('identity', 'profile_map', {
        'source_system': 'string', 'source_record_type': 'string', 'source_id': 'string',
        'profile_id': 'string', 'match_type': 'string', 'matched_on': 'string', 'confidence': 'float',
        'first_linked_at': 'timestamp', 'updated_at': 'timestamp',
    }) }}
)

select
    source_system,
    source_record_type,
    source_id,
    profile_id,
    match_type,
    matched_on,
    confidence,
    first_linked_at,
    updated_at
from profile_map
