with source as (
    {{ source_or_empty('raw_hubspot', 'companies', {
        'id': 'string', 'archived': 'boolean', 'created_at': 'timestamp', 'updated_at': 'timestamp',
        'name': 'string', 'domain': 'string', 'industry': 'string', 'annualrevenue': 'numeric',
        'numberofemployees': 'numeric', 'country': 'string', 'city': 'string', 'lifecyclestage': 'string',
        'hubspot_owner_id': 'string',
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
    created_at,
    updated_at
from versions
where version_rank = 1 and not coalesce(archived, false)
