{{ config(unique_key='opportunity_id', post_hook="{{ forget_gone_salesforce_records('opportunity') }}") }}
with versions as (
    {{ salesforce_records('opportunity', {
        'owner_id': 'string', 'account_id': 'string', 'name': 'string', 'stage_name': 'string',
        'amount': 'numeric', 'close_date': 'date', 'probability': 'float', 'is_closed': 'boolean',
        'is_won': 'boolean', 'lead_source': 'string', 'type': 'string',
    }) }}
)

select
    {{ clean_text('id') }} as opportunity_id,
    {{ clean_text('account_id') }} as account_id,
    {{ clean_text('owner_id') }} as owner_id,
    {{ clean_text('name') }} as opportunity_name,
    {{ clean_text('stage_name') }} as stage_name,
    amount,
    close_date,
    probability,
    coalesce(is_closed, false) as is_closed,
    coalesce(is_won, false) as is_won,
    {{ clean_text('lead_source') }} as lead_source,
    {{ clean_text(adapter.quote('type')) }} as opportunity_type,
    created_date as created_at,
    last_modified_date as updated_at,
    _dlt_load_id
from versions
