{#- Buying behaviours of every profile (config/handoff.yml triggers.behavior.behaviors, defaults from
    contract.md): one row per profile and behaviour, with its latest occurrence and products named. -#}
{%- set handoff = var('revloop', {}).get('handoff') or {} -%}
{%- set behaviors = ((handoff.get('triggers') or {}).get('behavior') or {}).get('behaviors') or {
    'demo_request': {'type': 'track', 'event': 'Demo Requested'},
    'pricing_page_visit': {'type': 'page', 'path_prefix': '/pricing'},
    'trial_signup': {'type': 'track', 'event': 'Trial Started'},
} -%}

with touches as (
    select * from {{ ref('touchpoints') }}
    where touch_source = 'event'
),

matched as (
    {%- for name, rule in behaviors.items() %}
    select
        profile_id,
        '{{ name }}' as behavior,
        occurred_at,
        product
    from touches
    where
        {%- if rule['type'] == 'track' %}
        message_type = 'track' and event_name = '{{ rule["event"] | replace("'", "''") }}'
        {%- else %}
        message_type = 'page' and page_path like '{{ rule["path_prefix"] | replace("'", "''") }}%'
        {%- endif %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    profile_id,
    behavior,
    count(*) as occurrence_count,
    min(occurred_at) as first_occurred_at,
    max(occurred_at) as last_occurred_at
from matched
group by profile_id, behavior
