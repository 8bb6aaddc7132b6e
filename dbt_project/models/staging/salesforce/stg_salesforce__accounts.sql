{#- technologies: the Account field config enrichment.salesforce_technology_field names (a custom field), null
    when none is configured or the org lacks it. -#}
{%- set enrichment = (var('revloop', {}).get('survivorship') or {}).get('enrichment') or {} -%}
{%- set technology_column = enrichment.get('salesforce_technology_column') -%}
{%- set columns = {
    'owner_id': 'string', 'name': 'string', 'website': 'string', 'industry': 'string',
    'annual_revenue': 'numeric', 'number_of_employees': 'bigint', 'billing_country': 'string',
    'billing_city': 'string', 'type': 'string',
} -%}
{%- if technology_column %}{% do columns.update({technology_column: 'string'}) %}{% endif -%}
with versions as (
    {{ salesforce_records('account', columns) }}
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
    {% if technology_column -%}
    {{ clean_text(adapter.quote(technology_column)) }}
    {%- else -%}
    cast(null as {{ dbt.type_string() }})
    {%- endif %} as technologies,
    created_date as created_at,
    last_modified_date as updated_at
from versions
