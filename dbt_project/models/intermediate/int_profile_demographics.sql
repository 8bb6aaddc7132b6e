{#- What people's own events state about them: language (from context.locale), age and gender (from
    traits, where a sender states them). The most recent statement wins; nothing is inferred. -#}

with statements as (
    select
        resolved.profile_id,
        events.occurred_at,
        events.message_id,
        {{ clean_text(json_text('events.context', 'locale')) }} as locale,
        {{ safe_number(
            'coalesce(' ~ json_text('events.traits', 'age') ~ ', ' ~ json_text('events.context', 'traits.age') ~ ')',
            'bigint') }} as age,
        lower({{ clean_text(
            'coalesce(' ~ json_text('events.traits', 'gender') ~ ', ' ~ json_text('events.context', 'traits.gender') ~ ')'
        ) }}) as gender
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
),

latest as (
    {%- for item in ['locale', 'age', 'gender'] %}
    select profile_id, '{{ item }}' as item, locale, age, gender,
        row_number() over (partition by profile_id order by occurred_at desc, message_id) as recency
    from statements
    where {{ item }} is not null {{ "and age between 0 and 130" if item == 'age' }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    profile_id,
    max(case when item = 'locale' then locale end) as locale,
    -- 'en-US' / 'en_US' -> 'en'
    max(case when item = 'locale' then lower({{ dbt.split_part(dbt.split_part('locale', "'-'", 1), "'_'", 1) }}) end)
        as language,
    max(case when item = 'age' then age end) as age,
    max(case when item = 'gender' then gender end) as gender
from latest
where recency = 1
group by profile_id
