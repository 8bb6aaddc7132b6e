{{ config(unique_key='lead_id', post_hook="{{ forget_gone_salesforce_records('lead') }}") }}
with versions as (
    {{ salesforce_records('lead', {
        'owner_id': 'string', 'first_name': 'string', 'last_name': 'string', 'email': 'string',
        'phone': 'string', 'company': 'string', 'title': 'string', 'industry': 'string',
        'lead_source': 'string', 'status': 'string', 'country': 'string', 'city': 'string',
        'annual_revenue': 'numeric', 'number_of_employees': 'bigint', 'is_converted': 'boolean',
        'converted_contact_id': 'string', 'revloop_id__c': 'string', 'hub_spot_id__c': 'string',
        'last_modified_by_id': 'string',
    }, hubspot_references={'hub_spot_id__c': 'contacts'}) }}
)

select
    {{ clean_text('id') }} as lead_id,
    {{ clean_text('owner_id') }} as owner_id,
    {{ clean_text('first_name') }} as first_name,
    {{ clean_text('last_name') }} as last_name,
    {{ clean_email('email') }} as email,
    {{ clean_text('phone') }} as phone,
    {{ clean_text('company') }} as company_name,
    {{ clean_text('title') }} as job_title,
    {{ clean_text('industry') }} as industry,
    {{ clean_text('lead_source') }} as lead_source,
    {{ clean_text('status') }} as lead_status,
    {{ clean_text('country') }} as country,
    {{ clean_text('city') }} as city,
    annual_revenue,
    number_of_employees as employee_count,
    coalesce(is_converted, false) as is_converted,
    {{ clean_text('converted_contact_id') }} as converted_contact_id,
    {{ clean_text('revloop_id__c') }} as revloop_id,
    -- a contact merged away in HubSpot lives on in the record it was merged into
    {{ hubspot_current_id(clean_text('hub_spot_id__c'), 'contacts') }} as hubspot_id,
    created_date as created_at,
    last_modified_date as updated_at,
    {{ clean_text('last_modified_by_id') }} as updated_by_id,
    _dlt_load_id
from versions
