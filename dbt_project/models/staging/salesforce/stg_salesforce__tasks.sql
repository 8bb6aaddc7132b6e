{{ config(unique_key='task_id', post_hook="{{ forget_gone_salesforce_records('task') }}") }}
with versions as (
    {{ salesforce_records('task', {
        'owner_id': 'string', 'who_id': 'string', 'what_id': 'string', 'subject': 'string',
        'description': 'string', 'status': 'string', 'priority': 'string', 'activity_date': 'date',
        'is_closed': 'boolean', 'task_subtype': 'string',
    }) }}
)

select
    {{ clean_text('id') }} as task_id,
    {{ clean_text('who_id') }} as who_id,
    {{ clean_text('what_id') }} as what_id,
    {{ clean_text('owner_id') }} as owner_id,
    {{ clean_text('subject') }} as subject,
    {{ clean_text('description') }} as description,
    {{ clean_text('status') }} as task_status,
    {{ clean_text('priority') }} as priority,
    activity_date as due_date,
    coalesce(is_closed, false) as is_closed,
    {{ clean_text('task_subtype') }} as task_subtype,
    created_date as created_at,
    last_modified_date as updated_at,
    _dlt_load_id
from versions
