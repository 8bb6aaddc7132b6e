{#- The firmographic and job traits people's own events stated, one row per message and trait, with when:
    the history marts.ml_features reads these features from as of each snapshot. The CRM tables keep only
    today's values (no history), so CRM-stated firmographics are no model feature. Values pass the
    survivorship value_maps like every stated attribute. -#}
{%- set value_maps = (var('revloop', {}).get('survivorship') or {}).get('value_maps') or {} -%}
{%- set traits = {'industry': 'trait_company_industry', 'country': 'trait_country', 'job_title': 'trait_title',
    'employee_count': 'trait_company_employee_count'} -%}
{%- set text = dbt.type_string() -%}

with messages as (
    select resolved.profile_id, events.message_id, events.occurred_at,
        {%- for attribute, column in traits.items() %}
        nullif(trim(cast(events.{{ column }} as {{ text }})), '') as {{ attribute }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
    where events.occurred_at is not null
)

{%- for attribute in traits %}
{%- set mapping = value_maps.get(attribute) or {} %}
select
    profile_id,
    message_id,
    occurred_at as stated_at,
    '{{ attribute }}' as attribute,
    {% if mapping -%}
    case {{ attribute }}
        {%- for raw, mapped in mapping.items() %}
        when '{{ raw | replace("'", "''") }}' then '{{ mapped | replace("'", "''") }}'
        {%- endfor %}
        else {{ attribute }}
    end
    {%- else -%}
    {{ attribute }}
    {%- endif %} as attribute_value
from messages
where {{ attribute }} is not null
{{ "union all" if not loop.last }}
{%- endfor %}
