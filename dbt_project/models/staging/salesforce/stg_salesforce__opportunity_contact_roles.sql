{{ config(unique_key='contact_role_id', post_hook="{{ forget_gone_salesforce_records('opportunitycontactrole') }}") }}
with versions as (
    {{ salesforce_records('opportunitycontactrole', {
        'opportunity_id': 'string', 'contact_id': 'string', 'role': 'string', 'is_primary': 'boolean',
    }) }}
)

select
    {{ clean_text('id') }} as contact_role_id,
    {{ clean_text('opportunity_id') }} as opportunity_id,
    {{ clean_text('contact_id') }} as contact_id,
    {{ clean_text(adapter.quote('role')) }} as role,
    coalesce(is_primary, false) as is_primary,
    created_date as created_at,
    last_modified_date as updated_at,
    system_modstamp as modified_at,
    _dlt_load_id
from versions
