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

profile_records as (
    -- each profile's CRM record ids, one per row (an equi-join below, not a join on a list of columns)
    {%- for column in ['salesforce_lead_id', 'salesforce_contact_id', 'hubspot_contact_id'] %}
    select profile_id, {{ column }} as record_id from profiles where {{ column }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

crm_owned as (
    -- marketing owns the lead from its first CRM record's creation
    select
        profile_records.profile_id,
        min(record_created.created_at) as crm_created_at
    from profile_records
    inner join record_created on record_created.record_id = profile_records.record_id
    group by profile_records.profile_id
),

product_touches as (
    -- products named by events (a demo request's product) or by the product pages visited
    select
        profile_id,
        channel,
        occurred_at,
        lower(nullif(coalesce(
            product,
            case when page_path like '/product/%' then {{ dbt.split_part('page_path', "'/'", 3) }} end
        ), '')) as product
    from {{ ref('touchpoints') }}
),

touches as (
    -- one pass over the touchpoints: the first touch, the nurturing e-mails and the products named
    select
        profile_id,
        min(occurred_at) as first_touch_at,
        max(case when channel = 'email' then occurred_at end) as last_nurtured_at,
        count(case when channel = 'email' then 1 end) as nurturing_touch_count,
        {{ dbt.listagg('distinct product', "','", 'order by product') }} as interested_products
    from product_touches
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
    touches.first_touch_at,
    coalesce(crm_owned.crm_created_at, touches.first_touch_at) as nurturing_started_at,
    touches.last_nurtured_at,
    coalesce(touches.nurturing_touch_count, 0) as nurturing_touch_count,
    behaviors.last_behavior_at,
    touches.interested_products
from profiles
left join crm_owned on crm_owned.profile_id = profiles.profile_id
left join touches on touches.profile_id = profiles.profile_id
left join behaviors on behaviors.profile_id = profiles.profile_id
