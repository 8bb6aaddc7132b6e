{#- What each profile's product events (config enrichment.product_usage.events) say: the platforms they use
    the product on (a mobile app's context.os.name, or 'web' for an event a browser sent with its user
    agent), and how many integrations they have connected and not removed since (the latest connect or
    remove event of each integration). Null where the profile sent no such event. -#}
{%- set usage = ((var('revloop', {}).get('survivorship') or {}).get('enrichment') or {}).get('product_usage') or {} -%}
{%- set events = usage.get('events') or [] -%}
{%- set connected = (usage.get('integration_connected') or 'Integration Connected') | replace("'", "''") -%}
{%- set removed = (usage.get('integration_removed') or 'Integration Removed') | replace("'", "''") -%}
{%- set text = dbt.type_string() -%}

with product_events as (
    select
        resolved.profile_id,
        events.event_name,
        events.occurred_at,
        events.message_id,
        lower({{ clean_text(json_text('events.context', 'os.name')) }}) as os_name,
        events.user_agent,
        {{ clean_text(json_text('events.properties', usage.get('integration_property') or 'integration')) }}
            as integration
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
    where events.message_type = 'track'
        and {% if events %}events.event_name in (
            {%- for name in events %}'{{ name | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
        ){% else %}1 = 0{% endif %}
),

platforms as (
    select distinct
        profile_id,
        coalesce(os_name, case when user_agent is not null then 'web' end) as platform
    from product_events
),

platform_lists as (
    select profile_id, {{ dbt.listagg('platform', "', '", 'order by platform') }} as platform_usage
    from platforms
    where platform is not null
    group by profile_id
),

integration_states as (
    select
        profile_id,
        event_name,
        row_number() over (
            partition by profile_id, integration order by occurred_at desc, message_id desc
        ) as recency
    from product_events
    where integration is not null and event_name in ('{{ connected }}', '{{ removed }}')
),

integrations as (
    select
        profile_id,
        sum(case when event_name = '{{ connected }}' then 1 else 0 end) as integration_count
    from integration_states
    where recency = 1
    group by profile_id
),

usage_profiles as (
    select profile_id from platform_lists
    union
    select profile_id from integrations
)

select
    usage_profiles.profile_id,
    platform_lists.platform_usage,
    cast(case when platform_lists.platform_usage is not null then 'product_events' end as {{ text }})
        as platform_usage_source,
    integrations.integration_count,
    cast(case when integrations.integration_count is not null then 'product_events' end as {{ text }})
        as integration_count_source
from usage_profiles
left join platform_lists on platform_lists.profile_id = usage_profiles.profile_id
left join integrations on integrations.profile_id = usage_profiles.profile_id
