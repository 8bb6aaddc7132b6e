{#- Every marketing interaction of a resolved profile: one row per event message resolved to a profile, plus
    the Salesforce Tasks reps logged on the person's Leads and Contacts (channel 'sales'). -#}
{%- set cfg = var('revloop', {}).get('survivorship') or {} -%}
{%- set passive_events = (cfg.get('enrichment') or {}).get('passive_events') or [] -%}
{%- set text = dbt.type_string() -%}
{#- Incremental (macros/follow_changes.sql): the touches of messages loaded, and of records identity
    changed, since the last build; the reps' tasks are few and rebuilt on every run. -#}
{{ config(
    materialized='incremental',
    unique_key='touchpoint_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ forget_changed_rows(ref('int_events_unioned')) }}", "{{ forget_task_touches() }}"],
) }}
{%- set marks = change_marks() %}

with resolved as (
    select * from {{ ref('int_event_messages_resolved') }}
    where {{ changed_after(marks) }}
),

messages as (
    select
        resolved.profile_id,
        resolved.source_record_type,
        resolved.source_id,
        events.*
    from resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
),

event_touches as (
    select
        {{ dbt.concat(["channel", "':'", "message_id"]) }} as touchpoint_id,
        profile_id,
        channel,
        'event' as touch_source,
        case message_type
            when 'page' then 'page_view'
            when 'screen' then 'screen_view'
            when 'track' then 'event'
            else message_type
        end as touch_type,
        message_type,
        message_id,
        cast(null as {{ text }}) as task_id,
        event_name,
        page_name,
        page_path,
        occurred_at,
        form_id,
        search_query,
        {{ clean_text(json_text('properties', 'product')) }} as product,
        coalesce(
            {{ clean_text(json_text('properties', 'campaign')) }},
            {{ clean_text(json_text('properties', 'campaign_name')) }}
        ) as campaign,
        cast(revenue as {{ dbt.type_numeric() }}) as revenue,
        cast(cost as {{ dbt.type_numeric() }}) as cost,
        -- an identify call tells who someone is, an impression what they were shown: neither is something they did
        message_type in ('page', 'screen', 'track')
        {%- if passive_events %}
            and coalesce(event_name, '') not in (
                {%- for name in passive_events %}'{{ name | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
            )
        {%- endif %} as is_interaction,
        source_record_type,
        source_id,
        _dlt_load_id,
        {{ newest_identity_run() }} as _identity_run_at
    from messages
),

task_touches as (
    select
        {{ dbt.concat(["'sales:'", "tasks.task_id"]) }} as touchpoint_id,
        records.profile_id,
        'sales' as channel,
        'crm_task' as touch_source,
        'crm_task' as touch_type,
        cast(null as {{ text }}) as message_type,
        cast(null as {{ text }}) as message_id,
        tasks.task_id,
        coalesce(tasks.task_subtype, tasks.subject) as event_name,
        cast(null as {{ text }}) as page_name,
        cast(null as {{ text }}) as page_path,
        tasks.created_at as occurred_at,
        cast(null as {{ text }}) as form_id,
        cast(null as {{ text }}) as search_query,
        cast(null as {{ text }}) as product,
        cast(null as {{ text }}) as campaign,
        cast(null as {{ dbt.type_numeric() }}) as revenue,
        cast(null as {{ dbt.type_numeric() }}) as cost,
        -- a rep's task is an attempt to reach the person, not their engagement
        false as is_interaction,
        records.source_record_type,
        records.source_id,
        cast(null as {{ text }}) as _dlt_load_id,
        {{ newest_identity_run() }} as _identity_run_at
    from {{ ref('stg_salesforce__tasks') }} as tasks
    inner join {{ ref('int_identities_resolved') }} as records
        on records.source_system = 'salesforce' and records.source_id = tasks.who_id
)

select * from event_touches
union all
select * from task_touches
