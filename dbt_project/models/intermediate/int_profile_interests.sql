{#- What each profile shows interest in, from the content they engaged with: website sections (first
    segment of the page path), product searches, forms submitted and products they asked about. One row per
    profile and interest, labelled '<kind>:<value>' (e.g. 'page:pricing', 'search:lead scoring'). -#}

with touches as (
    select * from {{ ref('int_touchpoints') }}
    where is_interaction
),

sections as (
    -- '/pricing?plan=team' and '/pricing/enterprise' are both the 'pricing' section; '/' is no section
    select
        profile_id,
        'page' as interest_kind,
        lower({{ dbt.split_part(dbt.split_part(dbt.split_part('page_path', "'?'", 1), "'#'", 1), "'/'", 2) }})
            as interest_value,
        occurred_at
    from touches
    where touch_type = 'page_view' and page_path like '/%'
),

signals as (
    select profile_id, interest_kind, interest_value, occurred_at
    from sections
    where interest_value <> ''
    union all
    select profile_id, 'search', lower(trim(search_query)), occurred_at
    from touches
    where search_query is not null
    union all
    select profile_id, 'form', form_id, occurred_at
    from touches
    where form_id is not null
    union all
    select profile_id, 'product', product, occurred_at
    from touches
    where product is not null
)

select
    profile_id,
    {{ dbt.concat(["interest_kind", "':'", "interest_value"]) }} as interest,
    interest_kind,
    interest_value,
    count(*) as engagement_count,
    max(occurred_at) as last_engaged_at
from signals
group by profile_id, interest_kind, interest_value
