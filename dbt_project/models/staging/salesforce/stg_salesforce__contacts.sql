{{ config(unique_key='contact_id', post_hook="{{ forget_gone_salesforce_records('contact') }}") }}
with versions as (
    {{ salesforce_records('contact', {
        'owner_id': 'string', 'account_id': 'string', 'first_name': 'string', 'last_name': 'string',
        'email': 'string', 'phone': 'string', 'mobile_phone': 'string', 'title': 'string',
        'department': 'string', 'lead_source': 'string', 'mailing_country': 'string',
        'mailing_city': 'string', 'revloop_id__c': 'string', 'hub_spot_id__c': 'string',
        'last_modified_by_id': 'string',
    }, hubspot_references={'hub_spot_id__c': 'contacts'}) }}
)

select
    {{ clean_text('id') }} as contact_id,
    {{ clean_text('account_id') }} as account_id,
    {{ clean_text('owner_id') }} as owner_id,
    {{ clean_text('first_name') }} as first_name,
    {{ clean_text('last_name') }} as last_name,
    {{ clean_email('email') }} as email,
    {{ clean_text('phone') }} as phone,
    {{ clean_text('mobile_phone') }} as mobile_phone,
    {{ clean_text('title') }} as job_title,
    {{ clean_text('department') }} as department,
    {{ clean_text('lead_source') }} as lead_source,
    {{ clean_text('mailing_country') }} as country,
    {{ clean_text('mailing_city') }} as city,
    {{ clean_text('revloop_id__c') }} as revloop_id,
    -- a contact merged away in HubSpot lives on in the record it was merged into
    {{ hubspot_current_id(clean_text('hub_spot_id__c'), 'contacts') }} as hubspot_id,
    created_date as created_at,
    last_modified_date as updated_at,
    {{ clean_text('last_modified_by_id') }} as updated_by_id,
    _dlt_load_id
from versions
