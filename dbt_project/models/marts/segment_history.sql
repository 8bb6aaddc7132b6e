{#- Every segments run, per segment: size, entries, exits, then the conversion columns the step measures
    (segments.conversions.KINDS: <kind>_count, <kind>_rate) and conversion_notes, as it wrote them. -#}
select *
from ({{ source_or_empty('segments', 'segment_history', {
    'run_at': 'timestamp', 'segment_name': 'string', 'segment_type': 'string',
    'size': 'bigint', 'entries': 'bigint', 'exits': 'bigint',
}, all_columns=true) }}) as history
