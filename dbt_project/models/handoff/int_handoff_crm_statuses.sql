{#- The lead status of every CRM person record, as last ingested: how a handoff's acceptance or recycling
    is read back (Salesforce Lead Status, HubSpot hs_lead_status / lifecycle stage). -#}

select
    'salesforce' as crm,
    lead_id as crm_record_id,
    lead_status,
    cast(null as {{ dbt.type_string() }}) as lifecycle_stage,
    owner_id,
    updated_at
from {{ ref('stg_salesforce__leads') }}
union all
select
    'salesforce' as crm,
    contact_id as crm_record_id,
    cast(null as {{ dbt.type_string() }}) as lead_status,
    cast(null as {{ dbt.type_string() }}) as lifecycle_stage,
    owner_id,
    updated_at
from {{ ref('stg_salesforce__contacts') }}
union all
select
    'hubspot' as crm,
    contact_id as crm_record_id,
    lead_status,
    lifecycle_stage,
    owner_id,
    updated_at
from {{ ref('stg_hubspot__contacts') }}
