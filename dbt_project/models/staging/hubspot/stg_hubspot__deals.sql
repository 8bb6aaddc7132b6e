{{ config(unique_key='deal_id', post_hook="{{ forget_gone_hubspot_records('deals') }}") }}
with versions as (
    {{ hubspot_records('deals', {
        'dealname': 'string', 'amount': 'numeric', 'dealstage': 'string', 'pipeline': 'string',
        'closedate': 'timestamp', 'hs_is_closed': 'boolean', 'hs_is_closed_won': 'boolean',
        'hubspot_owner_id': 'string',
    }) }}
)

select
    {{ clean_text('id') }} as deal_id,
    {{ clean_text('dealname') }} as deal_name,
    amount,
    {{ clean_text('dealstage') }} as deal_stage,
    {{ clean_text('pipeline') }} as pipeline,
    closedate as close_date,
    -- HubSpot's own flags when loaded; else the default pipeline's closed stages (custom pipelines name
    -- their own stages, so those need hs_is_closed / hs_is_closed_won in the load).
    coalesce(hs_is_closed, lower(trim(dealstage)) in ('closedwon', 'closedlost')) as is_closed,
    coalesce(hs_is_closed_won, lower(trim(dealstage)) = 'closedwon') as is_won,
    {{ clean_text('hubspot_owner_id') }} as owner_id,
    created_at,
    updated_at,
    _dlt_load_id
from versions
