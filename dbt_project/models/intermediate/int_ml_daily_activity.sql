{#- Each profile's touchpoints counted per day and kind: the grain marts.ml_features slides its windows over.
    An interaction is meaningful unless its event is one of models.engagement.passive_events (things that
    happen to a person, like an e-mail being opened). -#}
{%- set cfg = (var('revloop', {}).get('models') or {}).get('engagement') or {} -%}
{%- set passive = cfg.get('passive_events', ['Email Opened', 'Ad Impression']) -%}
{%- set channels = ['website', 'email', 'social', 'ads', 'offline'] -%}

with touches as (
    select
        profile_id,
        cast(occurred_at as date) as activity_date,
        channel,
        event_name,
        page_path,
        is_interaction,
        is_interaction
        {%- if passive %} and coalesce(event_name, '') not in (
            {%- for name in passive %}'{{ name | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
        {%- endif %} as is_meaningful,
        revenue
    from {{ ref('int_touchpoints') }}
    where profile_id is not null and occurred_at is not null
)

select
    profile_id,
    activity_date,
    sum(case when is_interaction then 1 else 0 end) as interaction_count,
    sum(case when is_meaningful then 1 else 0 end) as meaningful_count,
    {%- for channel in channels %}
    sum(case when is_interaction and channel = '{{ channel }}' then 1 else 0 end) as {{ channel }}_count,
    {%- endfor %}
    sum(case when channel = 'sales' then 1 else 0 end) as sales_touch_count,
    sum(case when page_path like '/pricing%' then 1 else 0 end) as pricing_view_count,
    sum(case when event_name = 'Demo Requested' then 1 else 0 end) as demo_request_count,
    sum(case when event_name = 'Trial Started' then 1 else 0 end) as trial_start_count,
    sum(case when event_name = 'Email Link Clicked' then 1 else 0 end) as email_click_count,
    sum(case when event_name = 'Form Submitted' then 1 else 0 end) as form_submit_count,
    sum(case when event_name = 'Support Ticket Created' then 1 else 0 end) as support_ticket_count
from touches
group by profile_id, activity_date
