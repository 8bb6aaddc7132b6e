-- Audit of profile ids: every merge (a profile absorbed into a survivor) and split, newest first.
with changes as (
    {{ source_or_empty('identity', 'profile_changes', {
        'change_type': 'string', 'profile_id': 'string', 'other_profile_id': 'string',
        'source_system': 'string', 'source_record_type': 'string', 'source_id': 'string',
        'run_at': 'timestamp', 'detail': 'string',
    }) }}
)

select
    change_type,
    profile_id,
    other_profile_id,
    source_system,
    source_record_type,
    source_id,
    run_at as changed_at,
    detail
from changes
where change_type in ('merged', 'split')
