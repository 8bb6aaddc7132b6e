{{ config(unique_key='account_id', post_hook="{{ forget_gone_salesforce_records('account') }}") }}
with versions as (
    {{ salesforce_records('account', {
        'owner_id': 'string', 'name': 'string', 'website': 'string', 'industry': 'string',
        'annual_revenue': 'numeric', 'number_of_employees': 'bigint', 'billing_country': 'string',
        'billing_city': 'string', 'type': 'string',
    }) }}
)

select
    {{ clean_text('id') }} as account_id,
    {{ clean_text('owner_id') }} as owner_id,
    {{ clean_text('name') }} as account_name,
    {{ clean_text('website') }} as website,
    {{ url_domain('website') }} as domain,
    {{ clean_text('industry') }} as industry,
    annual_revenue,
    number_of_employees as employee_count,
    {{ clean_text('billing_country') }} as country,
    {{ clean_text('billing_city') }} as city,
    {{ clean_text(adapter.quote('type')) }} as account_type,
    created_date as created_at,
    last_modified_date as updated_at,
    _dlt_load_id
from versions
