with versions as (
    {{ hubspot_records('companies', {
        'name': 'string', 'domain': 'string', 'industry': 'string', 'annualrevenue': 'numeric',
        'numberofemployees': 'numeric', 'country': 'string', 'city': 'string', 'lifecyclestage': 'string',
        'hubspot_owner_id': 'string', 'web_technologies': 'string',
    }) }}
)

select
    {{ clean_text('id') }} as company_id,
    {{ clean_text('name') }} as company_name,
    -- HubSpot's domain property is usually a bare host, but users paste URLs into it too.
    {{ url_domain('domain') }} as domain,
    {{ clean_text('industry') }} as industry,
    annualrevenue as annual_revenue,
    cast(round(numberofemployees) as {{ dbt.type_bigint() }}) as employee_count,
    {{ clean_text('country') }} as country,
    {{ clean_text('city') }} as city,
    {{ clean_text('lifecyclestage') }} as lifecycle_stage,
    {{ clean_text('hubspot_owner_id') }} as owner_id,
    -- HubSpot's web_technologies: the technologies found on the company's website, ";"-separated
    {{ clean_text('web_technologies') }} as web_technologies,
    created_at,
    updated_at
from versions
