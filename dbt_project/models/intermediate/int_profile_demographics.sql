{#- The locale each profile's browser or app sends (context.locale of their most recent message carrying
    one). Stated demographics (age, gender, language, income level) are survivorship attributes
    (int_profile_attributes_survived); nothing is inferred. -#}

with statements as (
    select
        resolved.profile_id,
        events.locale,
        row_number() over (
            partition by resolved.profile_id order by events.occurred_at desc, events.message_id
        ) as recency
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
    where events.locale is not null
)

select profile_id, locale
from statements
where recency = 1
