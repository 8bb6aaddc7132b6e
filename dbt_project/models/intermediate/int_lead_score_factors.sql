{#- Every factor of every profile's lead score, from config/scoring.yml (var revloop.scoring):
    fit rules over int_profiles_enriched and decayed, capped event points over int_touchpoints.
    Each factor is rounded to whole points here, so that int_lead_scores sums them exactly. -#}
{%- set cfg = var('revloop', {}).get('scoring') -%}
{%- if execute and not cfg -%}
    {{ exceptions.raise_compiler_error(
        "int_lead_score_factors: var revloop.scoring is missing; run dbt through `python -m revloop.dbt`") }}
{%- endif -%}
{%- set cfg = cfg or {'fit': {}, 'behavior': {'half_life_days': 1, 'max_points': none, 'events': []}} -%}
{#- Touchpoints are decayed to the run's as-of date (midnight UTC of the day dbt runs), not to the run's
    wall clock, so that two runs of one day give the same scores; touchpoints of that day count in full.
    Touchpoints after the run's start are ignored. var scoring_as_of sets both (a run as of a past moment). -#}
{%- set as_of = "cast('" ~ var('scoring_as_of', run_started_at.strftime('%Y-%m-%dT00:00:00+00:00')) ~ "' as " ~ type_timestamptz() ~ ")" -%}
{%- set cutoff = "cast('" ~ var('scoring_as_of', run_started_at.isoformat()) ~ "' as " ~ type_timestamptz() ~ ")" -%}
{#- Same characters as revloop.config.scoring.KEYWORD_SEPARATORS, which normalises the keywords. -#}
{%- set separators = ',.;:/-&()[]|+_!?#*' -%}
{%- set text_attributes = ['job_title', 'industry', 'country', 'lifecycle_stage', 'email_domain'] -%}
{%- set fit_groups = cfg.get('fit') or {} -%}
{%- set events = cfg.behavior.get('events') or [] -%}

with profiles as (

    select
        profile_id,
        {#- <attribute>_words, ' word word ': keywords match whole words; punctuation and runs of spaces count
            as one space #}
        {%- for attribute in text_attributes %}
        {{ attribute }},
        ' ' || regexp_replace(
            translate(lower({{ attribute }}), '{{ separators }}', '{{ ' ' * (separators | length) }}'), '\s+', ' ', 'g'
        ) || ' ' as {{ attribute }}_words,
        {%- endfor %}
        employee_count,
        annual_revenue
    from {{ ref('int_profiles_enriched') }}

),

fit_matches as (
    {%- for group_name, group in fit_groups.items() %}
    {%- set outer = loop %}
    {%- set attribute = group.attribute %}
    {%- for rule in group.rules %}
    {{ 'union all' if not (outer.first and loop.first) }}
    select
        profile_id,
        '{{ group_name }}' as fit_group,
        '{{ group.get('match', 'first') }}' as match_mode,
        {{ loop.index }} as rule_order,
        'fit:{{ group_name }}:{{ rule.name }}' as factor,
        {{ rule.points }} as points,
        {%- if attribute in text_attributes %}
        '{{ attribute }}: ' || cast({{ attribute }} as {{ dbt.type_string() }}) as detail
        {%- else %}
        '{{ attribute }}: ' || cast(cast(round({{ attribute }}) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as detail
        {%- endif %}
    from profiles
    where
        {%- if rule.get('keywords') %}
        {%- for keyword in rule.keywords %}
        {{ 'or ' if not loop.first }}{{ dbt.position("' " ~ keyword | replace("'", "''") ~ " '", attribute ~ '_words') | trim }} > 0
        {%- endfor %}
        {%- elif rule.get('values') %}
        lower(trim({{ attribute }})) in (
            {%- for value in rule['values'] %}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
        )
        {%- else %}
        {{ attribute }} is not null
        {%- if rule.get('min') is not none %} and {{ attribute }} >= {{ rule.min }}{% endif %}
        {%- if rule.get('max') is not none %} and {{ attribute }} < {{ rule.max }}{% endif %}
        {%- endif %}
    {%- endfor %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as profile_id,
        cast(null as {{ dbt.type_string() }}) as fit_group,
        cast(null as {{ dbt.type_string() }}) as match_mode,
        0 as rule_order,
        cast(null as {{ dbt.type_string() }}) as factor,
        0 as points,
        cast(null as {{ dbt.type_string() }}) as detail
    where 1 = 0
    {%- endfor %}

),

fit_ranked as (

    select
        *,
        row_number() over (partition by profile_id, fit_group order by rule_order) as match_rank
    from fit_matches

),

fit_factors as (

    select
        profile_id,
        cast(factor as {{ dbt.type_string() }}) as factor,
        cast('fit' as {{ dbt.type_string() }}) as factor_group,
        cast(points as integer) as points,
        cast(detail as {{ dbt.type_string() }}) as detail
    from fit_ranked
    where match_mode = 'all' or match_rank = 1

),

touchpoints as (

    select
        profile_id,
        lower(trim(event_name)) as event_key,
        page_path,
        occurred_at,
        case when occurred_at > {{ as_of }} then 0
            else {{ dbt.datediff('occurred_at', as_of, 'second') }} / 86400.0 end as age_days
    from {{ ref('int_touchpoints') }}
    -- reps' CRM tasks are touchpoints too, but not the person's own engagement
    where is_interaction
        and occurred_at <= {{ cutoff }}
        and profile_id in (select profile_id from profiles)

),

event_rules as (

    {%- if events %}
    {%- for rule in events %}
    select
        {{ loop.index }} as rule_order,
        'behavior:{{ rule.name }}' as factor,
        '{{ (rule.event_names | join(' / ') if rule.get('event_names')
            else 'page views ' ~ rule.page_path_prefixes | join('*, ') ~ '*') | replace("'", "''") }}' as rule_label,
        cast({{ rule.points }} as double precision) as weight,
        cast({{ rule.get('max_points') if rule.get('max_points') is not none else 'null' }} as double precision) as max_points
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- else %}
    select 0 as rule_order, '' as factor, '' as rule_label, 0.0 as weight, 0.0 as max_points
    where 1 = 0
    {%- endif %}

),

matched_touchpoints as (

    select
        profile_id,
        age_days,
        {%- if events %}
        case
            {%- for rule in events %}
            {%- if rule.get('event_names') %}
            when event_key in (
                {%- for name in rule.event_names %}'{{ name | lower | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
            ) then {{ loop.index }}
            {%- else %}
            when event_key is null and (
                {%- for prefix in rule.page_path_prefixes %}
                {{ 'or ' if not loop.first }}substr(page_path, 1, {{ prefix | length }}) = '{{ prefix | replace("'", "''") }}'
                {%- endfor %}
            ) then {{ loop.index }}
            {%- endif %}
            {%- endfor %}
        end as rule_order
        {%- else %}
        cast(null as integer) as rule_order
        {%- endif %}
    from touchpoints

),

event_points as (

    select
        matched_touchpoints.profile_id,
        event_rules.factor,
        max(event_rules.rule_label) as rule_label,
        max(event_rules.max_points) as max_points,
        count(*) as touchpoint_count,
        sum(event_rules.weight * power(0.5, matched_touchpoints.age_days / {{ cfg.behavior.half_life_days }})) as decayed_points
    from matched_touchpoints
    inner join event_rules on matched_touchpoints.rule_order = event_rules.rule_order
    group by matched_touchpoints.profile_id, event_rules.factor

),

behavior_factors as (

    select
        profile_id,
        cast(factor as {{ dbt.type_string() }}) as factor,
        cast('behavior' as {{ dbt.type_string() }}) as factor_group,
        -- numeric rounds halves away from zero on both adapters (PostgreSQL's float round() goes to even)
        cast(round(cast(
            case when decayed_points > max_points then max_points else decayed_points end
            as {{ dbt.type_numeric() }})) as integer) as points,
        cast(
            cast(touchpoint_count as {{ dbt.type_string() }}) || ' x ' || rule_label || ': '
            || cast(cast(decayed_points as decimal(18, 1)) as {{ dbt.type_string() }}) || ' points after decay'
            || case when decayed_points > max_points
                then ', capped at ' || cast(cast(max_points as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
                else '' end
            as {{ dbt.type_string() }}) as detail
    from event_points

),

{%- set behavior_cap = cfg.behavior.get('max_points') %}

behavior_cap_factors as (

    select
        profile_id,
        cast('behavior:cap' as {{ dbt.type_string() }}) as factor,
        cast('behavior' as {{ dbt.type_string() }}) as factor_group,
        cast({{ behavior_cap if behavior_cap is not none else 0 }} - sum(points) as integer) as points,
        cast(
            'behaviour points ' || cast(sum(points) as {{ dbt.type_string() }})
            || ' capped at {{ behavior_cap }}' as {{ dbt.type_string() }}) as detail
    from behavior_factors
    group by profile_id
    {%- if behavior_cap is not none %}
    having sum(points) > {{ behavior_cap }}
    {%- else %}
    having 1 = 0
    {%- endif %}

)

select profile_id, factor, factor_group, points, detail from fit_factors
union all
select profile_id, factor, factor_group, points, detail from behavior_factors
union all
select profile_id, factor, factor_group, points, detail from behavior_cap_factors
