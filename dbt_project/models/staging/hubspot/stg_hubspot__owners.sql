-- Archived owners stay (flagged): records keep naming the owner they had.
with source as (
    {{ source_or_empty('raw_hubspot', 'owners', {
        'id': 'string', 'archived': 'boolean', 'created_at': 'timestamp', 'updated_at': 'timestamp',
        'email': 'string', 'first_name': 'string', 'last_name': 'string', 'user_id': 'string',
    }) }}
),

versions as (
    select
        *,
        row_number() over (partition by id order by updated_at desc nulls last) as version_rank
    from source
    where {{ clean_text('id') }} is not null
)

select
    {{ clean_text('id') }} as owner_id,
    {{ clean_email('email') }} as email,
    {{ clean_text('first_name') }} as first_name,
    {{ clean_text('last_name') }} as last_name,
    {{ clean_text('user_id') }} as user_id,
    coalesce(archived, false) as is_archived,
    created_at,
    updated_at
from versions
where version_rank = 1
