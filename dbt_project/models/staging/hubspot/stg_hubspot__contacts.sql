{{ config(unique_key='contact_id', post_hook="{{ forget_gone_hubspot_records('contacts') }}") }}
{#- department: the contact property config enrichment.hubspot_department_property names. -#}
{%- set enrichment = (var('revloop', {}).get('survivorship') or {}).get('enrichment') or {} -%}
{%- set department_column = enrichment.get('hubspot_department_column') or 'job_function' -%}
{%- set columns = {
    'email': 'string', 'firstname': 'string', 'lastname': 'string', 'phone': 'string',
    'mobilephone': 'string', 'company': 'string', 'jobtitle': 'string', 'industry': 'string',
    'country': 'string', 'city': 'string', 'website': 'string', 'lifecyclestage': 'string',
    'hs_lead_status': 'string', 'hubspot_owner_id': 'string', 'salesforce_id': 'string',
} -%}
{%- do columns.update({department_column: 'string'}) -%}
with versions as (
    {{ hubspot_records('contacts', columns) }}
)

select
    {{ clean_text('id') }} as contact_id,
    {{ clean_email('email') }} as email,
    {{ clean_text('firstname') }} as first_name,
    {{ clean_text('lastname') }} as last_name,
    {{ clean_text('phone') }} as phone,
    {{ clean_text('mobilephone') }} as mobile_phone,
    {{ clean_text('company') }} as company_name,
    {{ clean_text('jobtitle') }} as job_title,
    {{ clean_text(adapter.quote(department_column)) }} as department,
    {{ clean_text('industry') }} as industry,
    {{ clean_text('country') }} as country,
    {{ clean_text('city') }} as city,
    {{ clean_text('website') }} as website,
    {{ clean_text('lifecyclestage') }} as lifecycle_stage,
    {{ clean_text('hs_lead_status') }} as lead_status,
    {{ clean_text('hubspot_owner_id') }} as owner_id,
    {{ clean_text('salesforce_id') }} as salesforce_id,
    created_at,
    updated_at,
    _dlt_load_id
from versions
