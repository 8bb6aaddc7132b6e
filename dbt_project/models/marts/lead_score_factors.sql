{#- The breakdown of every lead score: one row per profile and factor; a profile's points sum to its lead_score. -#}
select
    profile_id,
    factor,
    points,
    factor_group,
    detail
from {{ ref('int_lead_score_factors') }}
