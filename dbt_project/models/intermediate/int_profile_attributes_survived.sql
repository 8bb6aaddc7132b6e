{#- The winning value of each attribute of each profile under config/survivorship.yml, with its source:
    `priority` ranks sources in the listed order (unlisted sources never win), `most_recent` ranks them
    equally; then the most recently updated record wins, and the default order breaks exact ties. -#}
{%- set cfg = var('revloop', {}).get('survivorship') or {} -%}
{%- set rules = cfg.get('attributes') or {} -%}
{%- set tie_break = (cfg.get('default') or {}).get('priority') or [] -%}

with stated as (
    select * from {{ ref('int_profile_attributes_stated') }}
),

ranked as (
    select
        stated.*,
        case
            {%- for attribute, rule in rules.items() %}
            when attribute = '{{ attribute }}' then
                {%- if rule['rule'] == 'most_recent' %} 0
                {%- else %} case source
                    {%- for source in rule['priority'] %} when '{{ source }}' then {{ loop.index }}{% endfor %} end
                {%- endif %}
            {%- endfor %}
        end as source_rank,
        case source
            {%- for source in tie_break %} when '{{ source }}' then {{ loop.index }}{% endfor %}
            else {{ tie_break | length + 1 }}
        end as default_rank
    from stated
),

ordered as (
    select
        ranked.*,
        row_number() over (
            partition by profile_id, attribute
            order by source_rank, observed_at desc nulls last, default_rank, source, source_record_id
        ) as value_rank
    from ranked
    where source_rank is not null
)

select
    profile_id,
    attribute,
    attribute_value,
    source,
    source_record_id,
    observed_at
from ordered
where value_rank = 1
