{{ config(unique_key='user_id') }}
-- Users are never deleted in Salesforce, only deactivated: inactive ones stay (records still name them).
with versions as (
    {{ salesforce_records('user', {
        'username': 'string', 'first_name': 'string', 'last_name': 'string', 'name': 'string',
        'email': 'string', 'is_active': 'boolean', 'title': 'string', 'department': 'string',
        'country': 'string',
    }, deletable=false) }}
)

select
    {{ clean_text('id') }} as user_id,
    {{ clean_text('username') }} as username,
    {{ clean_text('first_name') }} as first_name,
    {{ clean_text('last_name') }} as last_name,
    coalesce(
        {{ clean_text('name') }},
        {{ clean_text(dbt.concat(["coalesce(trim(first_name), '')", "' '", "coalesce(trim(last_name), '')"])) }}
    ) as full_name,
    {{ clean_email('email') }} as email,
    coalesce(is_active, false) as is_active,
    {{ clean_text('title') }} as title,
    {{ clean_text('department') }} as department,
    {{ clean_text('country') }} as country,
    created_date as created_at,
    last_modified_date as updated_at,
    _dlt_load_id
from versions
