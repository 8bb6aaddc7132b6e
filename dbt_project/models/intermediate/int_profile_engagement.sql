{#- Behaviour of each profile: interactions, recency, orders, the channel they engage on most
    (communication preference) and an engagement level from config enrichment.engagement_levels. -#}
{%- set cfg = var('revloop', {}).get('survivorship') or {} -%}
{%- set levels = (cfg.get('enrichment') or {}).get('engagement_levels') or {} -%}
{%- set window_days = levels.get('window_days', 90) | int -%}
{%- set since = dbt.dateadd('day', -window_days, dbt.current_timestamp()) -%}

with touches as (
    select * from {{ ref('int_touchpoints') }}
),

by_channel as (
    select
        profile_id,
        channel,
        count(*) as interaction_count,
        max(occurred_at) as last_interaction_at
    from touches
    where is_interaction
    group by profile_id, channel
),

preferred_channel as (
    select
        profile_id,
        channel,
        row_number() over (
            partition by profile_id
            order by interaction_count desc, last_interaction_at desc, channel
        ) as preference
    from by_channel
),

totals as (
    select
        profile_id,
        count(*) as touch_count,
        sum(case when is_interaction then 1 else 0 end) as interaction_count,
        sum(case when is_interaction and occurred_at >= {{ since }} then 1 else 0 end) as recent_interaction_count,
        min(case when touch_source = 'event' then occurred_at end) as first_event_at,
        max(case when touch_source = 'event' then occurred_at end) as last_event_at,
        max(case when is_interaction then occurred_at end) as last_interaction_at,
        sum(case when event_name = 'Order Completed' then 1 else 0 end) as order_count,
        sum(case when event_name = 'Order Completed' then revenue end) as order_revenue,
        count(distinct case when touch_source = 'event' then channel end) as channel_count
    from touches
    group by profile_id
)

select
    totals.profile_id,
    totals.touch_count,
    totals.interaction_count,
    totals.recent_interaction_count,
    totals.first_event_at,
    totals.last_event_at,
    totals.last_interaction_at,
    totals.order_count,
    totals.order_revenue,
    totals.channel_count,
    preferred_channel.channel as communication_preference,
    case
        when totals.recent_interaction_count >= {{ levels.get('high', 20) | int }} then 'high'
        when totals.recent_interaction_count >= {{ levels.get('medium', 5) | int }} then 'medium'
        when totals.recent_interaction_count >= 1 then 'low'
        else 'none'
    end as engagement_level
from totals
left join preferred_channel
    on preferred_channel.profile_id = totals.profile_id and preferred_channel.preference = 1
