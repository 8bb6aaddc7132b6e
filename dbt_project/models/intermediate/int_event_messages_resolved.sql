-- Every event message of a resolved record with its profile_id; messages of unlinked anonymous visitors are absent.
with messages as (
    select
        message_id,
        channel,
        -- the record a message belongs to, as int_identity_records defines it
        case when user_id is not null then 'event_user' else 'event_anonymous' end as source_record_type,
        coalesce(user_id, anonymous_id) as source_id,
        occurred_at
    from {{ ref('int_events_unioned') }}
    where coalesce(user_id, anonymous_id) is not null
)

select
    m.message_id,
    m.channel,
    r.profile_id,
    m.source_record_type,
    m.source_id,
    r.match_type,
    r.confidence,
    m.occurred_at
from messages as m
inner join {{ ref('int_identities_resolved') }} as r
    on r.source_system = m.channel
    and r.source_record_type = m.source_record_type
    and r.source_id = m.source_id
