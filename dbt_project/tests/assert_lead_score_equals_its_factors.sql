-- Every profile's lead score is exactly the sum of its factor points (analysts rely on the breakdown).
with factor_sums as (
    select profile_id, sum(points) as factor_points
    from {{ ref('lead_score_factors') }}
    group by profile_id
)

select p.profile_id, p.lead_score, coalesce(f.factor_points, 0) as factor_points
from {{ ref('customer_profiles') }} as p
left join factor_sums as f on f.profile_id = p.profile_id
where p.lead_score <> coalesce(f.factor_points, 0)
