{#- What the handoff triggers look at, per profile: the CRM records, lead score, when marketing took the
    lead (its CRM record's creation, or its first marketing touch when it has no CRM record), the
    nurturing e-mails it got and the products the person showed interest in. -#}

with profiles as (
    select * from {{ ref('customer_profiles') }}
),

crm_records as (
    select lead_id as record_id, created_at from {{ ref('stg_salesforce__leads') }}
    union all
    select contact_id as record_id, created_at from {{ ref('stg_salesforce__contacts') }}
    union all
    select contact_id as record_id, created_at from {{ ref('stg_hubspot__contacts') }}
),

record_created as (
    select record_id, min(created_at) as created_at
    from crm_records
    group by record_id
),

crm_owned as (
    -- marketing owns the lead from its first CRM record's creation
    select
        profiles.profile_id,
        min(record_created.created_at) as crm_created_at
    from profiles
    inner join record_created
        on record_created.record_id in (
            profiles.salesforce_lead_id, profiles.salesforce_contact_id, profiles.hubspot_contact_id
        )
    group by profiles.profile_id
),

first_touch as (
    select
        profile_id,
        min(occurred_at) as first_touch_at
    from {{ ref('touchpoints') }}
    group by profile_id
),

nurturing as (
    select
        profile_id,
        max(occurred_at) as last_nurtured_at,
        count(*) as nurturing_touch_count
    from {{ ref('touchpoints') }}
    where channel = 'email'
    group by profile_id
),

product_touches as (
    -- products named by events (a demo request's product) or by the product pages visited
    select
        profile_id,
        coalesce(
            product,
            case when page_path like '/product/%' then {{ dbt.split_part('page_path', "'/'", 3) }} end
        ) as product
    from {{ ref('touchpoints') }}
),

products as (
    select
        profile_id,
        {{ dbt.listagg('distinct lower(product)', "','", 'order by lower(product)') }} as interested_products
    from product_touches
    where product is not null and product <> ''
    group by profile_id
),

behaviors as (
    select
        profile_id,
        max(last_occurred_at) as last_behavior_at
    from {{ ref('int_handoff_behaviors') }}
    group by profile_id
)

select
    profiles.profile_id,
    profiles.email,
    profiles.first_name,
    profiles.last_name,
    profiles.company_name,
    profiles.job_title,
    profiles.country,
    profiles.industry,
    profiles.lifecycle_stage,
    profiles.is_customer,
    profiles.lead_score,
    profiles.salesforce_lead_id,
    profiles.salesforce_contact_id,
    profiles.hubspot_contact_id,
    crm_owned.crm_created_at,
    first_touch.first_touch_at,
    coalesce(crm_owned.crm_created_at, first_touch.first_touch_at) as nurturing_started_at,
    nurturing.last_nurtured_at,
    coalesce(nurturing.nurturing_touch_count, 0) as nurturing_touch_count,
    behaviors.last_behavior_at,
    products.interested_products
from profiles
left join crm_owned on crm_owned.profile_id = profiles.profile_id
left join first_touch on first_touch.profile_id = profiles.profile_id
left join nurturing on nurturing.profile_id = profiles.profile_id
left join products on products.profile_id = profiles.profile_id
left join behaviors on behaviors.profile_id = profiles.profile_id
