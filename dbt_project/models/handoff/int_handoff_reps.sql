{#- Sales reps a lead can be handed to: active Salesforce Users and non-archived HubSpot owners, with the
    department and title of the Salesforce User of the same e-mail, and their workload in that CRM
    (open leads and open pipeline they own, as ingested). -#}

with users as (
    select * from {{ ref('stg_salesforce__users') }}
),

salesforce_leads as (
    select owner_id, count(*) as open_lead_count
    from {{ ref('stg_salesforce__leads') }}
    where not is_converted and coalesce(lead_status, '') not like 'Closed%'
    group by owner_id
),

salesforce_pipeline as (
    select owner_id, sum(coalesce(amount, 0)) as open_pipeline
    from {{ ref('stg_salesforce__opportunities') }}
    where not is_closed
    group by owner_id
),

hubspot_leads as (
    select owner_id, count(*) as open_lead_count
    from {{ ref('stg_hubspot__contacts') }}
    where coalesce(lifecycle_stage, '') not in ('customer', 'evangelist')
        and coalesce(lead_status, '') not in ('UNQUALIFIED', 'BAD_TIMING')
    group by owner_id
),

hubspot_pipeline as (
    select owner_id, sum(coalesce(amount, 0)) as open_pipeline
    from {{ ref('stg_hubspot__deals') }}
    where not is_closed
    group by owner_id
),

salesforce_reps as (
    select
        'salesforce' as crm,
        users.user_id as rep_id,
        users.email,
        users.full_name as rep_name,
        users.department,
        users.title,
        coalesce(salesforce_leads.open_lead_count, 0) as open_lead_count,
        coalesce(salesforce_pipeline.open_pipeline, 0) as open_pipeline
    from users
    left join salesforce_leads on salesforce_leads.owner_id = users.user_id
    left join salesforce_pipeline on salesforce_pipeline.owner_id = users.user_id
    where users.is_active
),

hubspot_reps as (
    select
        'hubspot' as crm,
        owners.owner_id as rep_id,
        owners.email,
        {{ dbt.concat(["coalesce(owners.first_name, '')", "' '", "coalesce(owners.last_name, '')"]) }}
            as rep_name,
        users.department,
        users.title,
        coalesce(hubspot_leads.open_lead_count, 0) as open_lead_count,
        coalesce(hubspot_pipeline.open_pipeline, 0) as open_pipeline
    from {{ ref('stg_hubspot__owners') }} as owners
    left join users on users.email = owners.email
    left join hubspot_leads on hubspot_leads.owner_id = owners.owner_id
    left join hubspot_pipeline on hubspot_pipeline.owner_id = owners.owner_id
    where not owners.is_archived
)

select * from salesforce_reps
union all
select * from hubspot_reps
