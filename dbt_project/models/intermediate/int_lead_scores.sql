{#- One lead score per profile: the exact sum of its factors in int_lead_score_factors (0 without any). -#}
{%- set cfg = var('revloop', {}).get('scoring') -%}
{%- if execute and not cfg -%}
    {{ exceptions.raise_compiler_error(
        "int_lead_scores: var revloop.scoring is missing; run dbt through `python -m revloop.dbt`") }}
{%- endif -%}
{%- set threshold = cfg.sales_ready_threshold if cfg else 0 -%}

with profiles as (

    select profile_id
    from {{ ref('int_profiles_enriched') }}

),

factor_sums as (

    select
        profile_id,
        sum(points) as lead_score,
        sum(case when factor_group = 'fit' then points else 0 end) as fit_score,
        sum(case when factor_group = 'behavior' then points else 0 end) as behavior_score
    from {{ ref('int_lead_score_factors') }}
    group by profile_id

),

scores as (

    select
        profiles.profile_id,
        cast(coalesce(factor_sums.lead_score, 0) as integer) as lead_score,
        cast(coalesce(factor_sums.fit_score, 0) as integer) as fit_score,
        cast(coalesce(factor_sums.behavior_score, 0) as integer) as behavior_score
    from profiles
    left join factor_sums on profiles.profile_id = factor_sums.profile_id

)

select
    profile_id,
    lead_score,
    fit_score,
    behavior_score,
    lead_score >= {{ threshold }} as is_sales_ready,
    cast('{{ var('scoring_as_of', run_started_at.strftime('%Y-%m-%dT00:00:00+00:00')) }}' as {{ type_timestamptz() }}) as scored_at
from scores
