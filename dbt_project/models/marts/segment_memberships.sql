{#- The current members of every segment in config/segments, as the segments step last evaluated them. -#}
select segment_name, segment_type, profile_id, evaluated_at
from ({{ source_or_empty('segments', 'segment_memberships', {
    'segment_name': 'string', 'segment_type': 'string', 'profile_id': 'string', 'evaluated_at': 'timestamp',
}) }}) as memberships
