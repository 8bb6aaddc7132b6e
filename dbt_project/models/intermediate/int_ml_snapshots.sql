{#- The as-of dates of marts.ml_features: models.snapshots.count dates, spacing_days apart, back from the end
    of the data (the day after the latest touchpoint, won deal or newly known person, so that everyone known
    is scored even where touchpoints are few; the var ml_as_of overrides it). Snapshot 0 is the one profiles
    are scored on. -#}
{%- set cfg = (var('revloop', {}).get('models') or {}).get('snapshots') or {} -%}
{%- set spacing = cfg.get('spacing_days', 30) | int -%}
{%- set count = cfg.get('count', 12) | int -%}
{%- set as_of = var('ml_as_of', none) -%}

with
{%- if as_of %}
anchor as (
    select cast('{{ as_of }}' as date) as anchor_date
),
{%- else %}
activity as (
    select max(occurred_at) as latest_at from {{ ref('int_touchpoints') }}
    where occurred_at <= {{ dbt.current_timestamp() }}
    union all
    select max(closed_at) from {{ ref('int_ml_deals') }}
    where is_won and closed_at <= {{ dbt.current_timestamp() }}
    union all
    select max(first_seen_at) from {{ ref('int_profiles_enriched') }}
    where first_seen_at <= {{ dbt.current_timestamp() }}
),

anchor as (
    select
        cast({{ dbt.dateadd('day', 1, 'cast(coalesce(max(latest_at), ' ~ dbt.current_timestamp() ~ ') as date)') }}
            as date) as anchor_date
    from activity
),
{%- endif %}

offsets as (
    {%- for index in range(count) %}
    select {{ index }} as snapshot_index{{ " union all" if not loop.last }}
    {%- endfor %}
)

select
    offsets.snapshot_index,
    cast({{ dbt.dateadd('day', '-' ~ spacing ~ ' * offsets.snapshot_index', 'anchor.anchor_date') }} as date)
        as as_of_date,
    anchor.anchor_date,
    offsets.snapshot_index = 0 as is_scoring_snapshot
from offsets
cross join anchor
