{#- One row per handoff (profile and cycle) of a lead to a sales rep, as the handoff step records it. -#}
select *
from ({{ source_or_empty('activation', 'lead_handoffs', {
    'profile_id': 'string', 'trigger': 'string', 'priority': 'string', 'owner_id': 'string',
    'assignment_rule': 'string', 'handed_off_at': 'timestamp', 'crm': 'string', 'crm_record_id': 'string',
    'cycle': 'bigint', 'state': 'string',
}, all_columns=true) }}) as handoffs
