{#- Engagement per profile and channel: touches by type, first and last touch, and recent activity. -#}
{%- set now = dbt.current_timestamp() -%}

select
    profile_id,
    channel,
    count(*) as touch_count,
    sum(case when is_interaction then 1 else 0 end) as interaction_count,
    sum(case when touch_type = 'page_view' then 1 else 0 end) as page_view_count,
    sum(case when touch_type = 'screen_view' then 1 else 0 end) as screen_view_count,
    sum(case when touch_type = 'event' then 1 else 0 end) as track_count,
    sum(case when touch_type = 'identify' then 1 else 0 end) as identify_count,
    sum(case when touch_type = 'crm_task' then 1 else 0 end) as crm_task_count,
    count(distinct event_name) as distinct_event_count,
    min(occurred_at) as first_touch_at,
    max(occurred_at) as last_touch_at,
    sum(case when occurred_at >= {{ dbt.dateadd('day', -30, now) }} then 1 else 0 end) as touches_last_30d,
    sum(case when occurred_at >= {{ dbt.dateadd('day', -90, now) }} then 1 else 0 end) as touches_last_90d,
    sum(case when is_interaction and occurred_at >= {{ dbt.dateadd('day', -30, now) }} then 1 else 0 end)
        as interactions_last_30d,
    sum(case when is_interaction and occurred_at >= {{ dbt.dateadd('day', -90, now) }} then 1 else 0 end)
        as interactions_last_90d
from {{ ref('int_touchpoints') }}
group by profile_id, channel
