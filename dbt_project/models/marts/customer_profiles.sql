{#- The unified customer profile: one row per resolved person. Contract columns first, then the source of
    each surviving value and the enrichment. Model scores (churn_risk, purchase_likelihood,
    engagement_potential) are each model's latest scores; null until it has scored (churn: only customers). -#}

with profiles as (
    select * from {{ ref('int_profiles_enriched') }}
),

lead_scores as (
    select * from {{ ref('int_lead_scores') }}
),

predictions as (
    select * from {{ ref('int_ml_predictions_current') }}
)

select
    profiles.profile_id,
    profiles.email,
    profiles.phone,
    profiles.first_name,
    profiles.last_name,
    profiles.company_name,
    profiles.job_title,
    profiles.country,
    profiles.industry,
    profiles.lifecycle_stage,
    coalesce(lead_scores.lead_score, 0) as lead_score,
    predictions.churn_risk,
    predictions.purchase_likelihood,
    predictions.engagement_potential,
    profiles.first_seen_at,
    profiles.last_seen_at,
    -- what produced each score: a model version of the registry, or 'baseline' (the rules of ml/baseline.py)
    predictions.churn_model_version as churn_model,
    predictions.purchase_model_version as purchase_model,
    predictions.engagement_model_version as engagement_model,
    coalesce(lead_scores.is_sales_ready, false) as is_sales_ready,
    profiles.email_source,
    profiles.phone_source,
    profiles.first_name_source,
    profiles.last_name_source,
    profiles.company_name_source,
    profiles.job_title_source,
    profiles.country_source,
    profiles.industry_source,
    profiles.lifecycle_stage_source,
    profiles.email_domain,
    profiles.city,
    profiles.city_source,
    profiles.annual_revenue,
    profiles.annual_revenue_source,
    profiles.employee_count,
    profiles.employee_count_source,
    profiles.company_source,
    profiles.company_record_id,
    profiles.company_match_method,
    profiles.company_domain,
    profiles.company_industry,
    profiles.company_country,
    profiles.company_city,
    profiles.locale,
    profiles.language,
    profiles.age,
    profiles.gender,
    profiles.interests,
    profiles.top_interest,
    profiles.communication_preference,
    profiles.browser_family,
    profiles.os_family,
    profiles.device_type,
    profiles.engagement_level,
    profiles.interaction_count,
    profiles.recent_interaction_count,
    profiles.last_interaction_at,
    profiles.order_count,
    profiles.order_revenue,
    profiles.is_customer,
    profiles.salesforce_contact_id,
    profiles.salesforce_lead_id,
    profiles.hubspot_contact_id
from profiles
left join lead_scores on lead_scores.profile_id = profiles.profile_id
left join predictions on predictions.profile_id = profiles.profile_id
