-- Every event message of a resolved record with its profile_id; messages of unlinked anonymous visitors are absent.
-- Incremental (macros/follow_changes.sql): the messages loaded, and those of the records identity changed,
-- since the last build.
{{ config(
    materialized='incremental',
    unique_key=['channel', 'message_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    pre_hook="{{ forget_changed_rows(ref('int_events_unioned')) }}",
) }}
{%- set marks = change_marks() %}

with messages as (
    select
        message_id,
        channel,
        -- the record a message belongs to, as int_identity_records defines it
        case when user_id is not null then 'event_user' else 'event_anonymous' end as source_record_type,
        coalesce(user_id, anonymous_id) as source_id,
        occurred_at,
        _dlt_load_id
    from {{ ref('int_events_unioned') }}
    where coalesce(user_id, anonymous_id) is not null
),

changed as (
    select * from messages
    where {{ changed_after(marks) }}
)

select
    m.message_id,
    m.channel,
    r.profile_id,
    m.source_record_type,
    m.source_id,
    r.match_type,
    r.confidence,
    m.occurred_at,
    m._dlt_load_id,
    {{ newest_identity_run() }} as _identity_run_at
from changed as m
inner join {{ ref('int_identities_resolved') }} as r
    on r.source_system = m.channel
    and r.source_record_type = m.source_record_type
    and r.source_id = m.source_id
