{{ config(unique_key='owner_id') }}
-- Archived owners stay (flagged): records keep naming the owner they had.
with versions as (
    {{ hubspot_records('owners', {
        'email': 'string', 'first_name': 'string', 'last_name': 'string', 'user_id': 'string',
    }, keep_archived=true) }}
)

select
    {{ clean_text('id') }} as owner_id,
    {{ clean_email('email') }} as email,
    {{ clean_text('first_name') }} as first_name,
    {{ clean_text('last_name') }} as last_name,
    {{ clean_text('user_id') }} as user_id,
    coalesce(archived, false) as is_archived,
    created_at,
    updated_at,
    _dlt_load_id
from versions
