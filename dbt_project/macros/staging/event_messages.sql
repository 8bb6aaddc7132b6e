{#- The first non-empty text among JSON paths of a message's traits, then of its context.traits
    (identify calls carry traits; other calls may carry them in context.traits). Paths list both spellings
    senders use (Segment's camelCase and snake_case). Reads the column context_traits, which holds
    context.traits as JSON text, cut out once per row (context is large; parsing it per path is slow). -#}
{% macro event_trait(paths) -%}
    coalesce(
        {%- for path in paths %}
        {{ clean_text(json_text('traits', path)) }},
        {%- endfor %}
        {%- for path in paths %}
        {{ clean_text(json_text('context_traits', path)) }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- The first non-empty text among JSON paths of a message's properties. -#}
{% macro event_property(paths) -%}
    coalesce(
        {%- for path in paths %}
        {{ clean_text(json_text('properties', path)) }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- A staging model of raw_events.<channel>: one row per message id, typed columns and extracted traits.
    Incremental (see incremental.sql): a run reads every copy of the message ids loaded since the last. -#}
{% macro stg_event_messages(channel) -%}
with source as (
    select * from ({{ source_or_empty('raw_events', channel, {
        'message_id': 'string', 'type': 'string', 'event': 'string', 'name': 'string', 'user_id': 'string',
        'anonymous_id': 'string', 'group_id': 'string', 'previous_id': 'string', 'timestamp': 'timestamp',
        'sent_at': 'timestamp', 'received_at': 'timestamp', 'email': 'string', 'phone': 'string',
        'ip': 'string', 'user_agent': 'string', 'device_id': 'string', 'properties': 'string',
        'traits': 'string', 'context': 'string', 'source_file': 'string', 'source_line': 'bigint',
        '_dlt_load_id': 'string',
    }) }}) as raw_messages
    {%- if is_incremental() %}
    where message_id in (
        select message_id
        from ({{ rows_loaded_since_last_run('raw_events', channel, {'message_id': 'string'}) }}) as loaded
    )
    {%- endif %}
),

copies as (
    -- Ingestion already drops repeated ids; should one slip through, the first copy wins, as in Segment.
    select
        *,
        row_number() over (
            partition by message_id order by source_file nulls last, source_line nulls last
        ) as copy_rank
    from source
    where {{ clean_text('message_id') }} is not null
),

messages as (
    select
        *,
        lower(trim({{ adapter.quote('type') }})) as message_type,
        {{ json_text('context', 'traits') }} as context_traits
    from copies
    where copy_rank = 1
)

select
    {{ clean_text('message_id') }} as message_id,
    cast('{{ channel }}' as {{ dbt.type_string() }}) as channel,
    message_type,
    case when message_type = 'track' then {{ clean_text('event') }} end as event_name,
    case when message_type in ('page', 'screen') then {{ clean_text('name') }} end as page_name,
    {{ event_property(['path']) }} as page_path,
    {{ event_property(['url']) }} as page_url,
    {{ event_property(['title']) }} as page_title,
    {{ event_property(['referrer']) }} as page_referrer,
    {{ clean_text('user_id') }} as user_id,
    {{ clean_text('anonymous_id') }} as anonymous_id,
    {{ clean_text('group_id') }} as group_id,
    {{ clean_text('previous_id') }} as previous_id,
    {{ clean_email('email') }} as email,
    {{ clean_text('phone') }} as phone,
    {{ clean_text('ip') }} as ip,
    {{ clean_text('user_agent') }} as user_agent,
    {{ clean_text('device_id') }} as device_id,
    {{ adapter.quote('timestamp') }} as occurred_at,
    sent_at,
    received_at,
    properties,
    traits,
    context,
    {{ event_trait(['firstName', 'first_name']) }} as trait_first_name,
    {{ event_trait(['lastName', 'last_name']) }} as trait_last_name,
    {{ event_trait(['title']) }} as trait_title,
    {{ event_trait(['company.name', 'companyName', 'company_name']) }} as trait_company_name,
    {{ event_trait(['company.industry', 'industry']) }} as trait_company_industry,
    {{ safe_number(event_trait([
        'company.employee_count', 'company.employeeCount', 'employee_count', 'employeeCount', 'employees',
    ]), 'bigint') }} as trait_company_employee_count,
    {{ event_trait(['address.country', 'country']) }} as trait_country,
    {{ event_trait(['address.city', 'city']) }} as trait_city,
    {{ safe_timestamp(event_trait(['createdAt', 'created_at'])) }} as trait_created_at,
    {#- stated demographics and roles (Segment's reserved traits age, gender; the others as senders name them) #}
    {{ safe_number(event_trait(['age']), 'bigint') }} as trait_age,
    lower({{ event_trait(['gender']) }}) as trait_gender,
    {{ event_trait(['language', 'preferredLanguage', 'preferred_language']) }} as trait_language,
    {{ event_trait(['incomeLevel', 'income_level']) }} as trait_income_level,
    {{ event_trait(['department', 'company.department']) }} as trait_department,
    {{ event_trait(['roles', 'role']) }} as trait_roles,
    {{ event_trait(['preferredChannel', 'preferred_channel']) }} as trait_preferred_channel,
    {{ clean_text(json_text('context', 'locale')) }} as locale,
    {{ clean_text(json_text('context', 'accept_language')) }} as accept_language,
    {#- Segment's ecommerce spec: an order's revenue, or its total when the sender sends only that #}
    {{ safe_number(event_property(['revenue', 'total'])) }} as revenue,
    {{ safe_number(event_property(['cost'])) }} as cost,
    {{ event_property(['form_id', 'formId']) }} as form_id,
    {{ event_property(['query', 'search_query', 'searchQuery']) }} as search_query,
    source_file,
    source_line,
    _dlt_load_id
from messages
{%- endmacro %}
