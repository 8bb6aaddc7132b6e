{#- Browser, operating system and device type of each profile, parsed from the user agent of their most
    recent event that carries one. Null when no event of the profile carries a user agent. -#}

with agents as (
    select
        resolved.profile_id,
        events.user_agent,
        events.occurred_at,
        events.message_id,
        row_number() over (
            partition by resolved.profile_id
            order by events.occurred_at desc, events.message_id
        ) as recency
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
    where events.user_agent is not null
)

-- order matters: Edge and Opera also say Chrome, Chrome also says Safari, iOS also says Mac OS X
select
    profile_id,
    user_agent,
    occurred_at as user_agent_seen_at,
    case
        when user_agent like '%Edg/%' or user_agent like '%EdgA/%' or user_agent like '%EdgiOS/%' then 'Edge'
        when user_agent like '%OPR/%' or user_agent like '%Opera%' then 'Opera'
        when user_agent like '%Firefox/%' or user_agent like '%FxiOS/%' then 'Firefox'
        when user_agent like '%Chrome/%' or user_agent like '%CriOS/%' then 'Chrome'
        when user_agent like '%Safari/%' and user_agent like '%Version/%' then 'Safari'
        when user_agent like '%MSIE %' or user_agent like '%Trident/%' then 'Internet Explorer'
        else 'Other'
    end as browser_family,
    case
        when user_agent like '%iPhone%' or user_agent like '%iPad%' or user_agent like '%iPod%' then 'iOS'
        when user_agent like '%Android%' then 'Android'
        when user_agent like '%Windows%' then 'Windows'
        when user_agent like '%CrOS%' then 'Chrome OS'
        when user_agent like '%Mac OS X%' or user_agent like '%Macintosh%' then 'macOS'
        when user_agent like '%Linux%' then 'Linux'
        else 'Other'
    end as os_family,
    case
        when user_agent like '%iPad%' or user_agent like '%Tablet%'
            or (user_agent like '%Android%' and user_agent not like '%Mobile%') then 'tablet'
        when user_agent like '%Mobi%' or user_agent like '%iPhone%' or user_agent like '%iPod%' then 'mobile'
        when user_agent like '%bot%' or user_agent like '%spider%' or user_agent like '%crawl%' then 'bot'
        else 'desktop'
    end as device_type
from agents
where recency = 1
