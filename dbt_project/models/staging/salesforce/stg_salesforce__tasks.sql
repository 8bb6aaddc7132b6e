with source as (
    {{ source_or_empty('raw_salesforce', 'task', {
        'id': 'string', 'is_deleted': 'boolean', 'system_modstamp': 'timestamp', 'created_date': 'timestamp',
        'last_modified_date': 'timestamp', 'owner_id': 'string', 'who_id': 'string', 'what_id': 'string',
        'subject': 'string', 'description': 'string', 'status': 'string', 'priority': 'string',
        'activity_date': 'date', 'is_closed': 'boolean', 'task_subtype': 'string',
    }) }}
),

versions as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc nulls last) as version_rank
    from source
    where {{ clean_text('id') }} is not null
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
    last_modified_date as updated_at
from versions
where version_rank = 1 and not coalesce(is_deleted, false)
