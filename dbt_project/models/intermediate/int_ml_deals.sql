{#- CRM deals of each profile: Salesforce opportunities of the accounts of the profile's contacts, and HubSpot
    deals associated with the profile's contacts or with their companies. closed_at is null while open. -#}
{%- set text = dbt.type_string() -%}

with identities as (
    select profile_id, source_system, source_id
    from {{ ref('int_identities_resolved') }}
    where source_system in ('salesforce', 'hubspot')
),

salesforce_deals as (
    select distinct
        identities.profile_id,
        'salesforce_opportunity' as deal_source,
        opportunities.opportunity_id as deal_id,
        opportunities.amount,
        opportunities.created_at,
        case when opportunities.is_closed then cast(opportunities.close_date as {{ dbt.type_timestamp() }})
        end as closed_at,
        coalesce(opportunities.is_won, false) as is_won
    from {{ ref('stg_salesforce__opportunities') }} as opportunities
    inner join {{ ref('stg_salesforce__contacts') }} as contacts on contacts.account_id = opportunities.account_id
    inner join identities on identities.source_system = 'salesforce' and identities.source_id = contacts.contact_id
),

hubspot_deal_contacts as (
    select deal_id, associated_id as contact_id
    from {{ ref('stg_hubspot__deal_associations') }}
    where associated_type = 'contacts'
    union
    select deals.deal_id, companies.contact_id
    from {{ ref('stg_hubspot__deal_associations') }} as deals
    inner join {{ ref('stg_hubspot__contact_company_associations') }} as companies
        on companies.company_id = deals.associated_id
    where deals.associated_type = 'companies'
),

hubspot_deals as (
    select distinct
        identities.profile_id,
        'hubspot_deal' as deal_source,
        deals.deal_id,
        deals.amount,
        deals.created_at,
        case when deals.is_closed then cast(deals.close_date as {{ dbt.type_timestamp() }}) end as closed_at,
        coalesce(deals.is_won, false) as is_won
    from {{ ref('stg_hubspot__deals') }} as deals
    inner join hubspot_deal_contacts on hubspot_deal_contacts.deal_id = deals.deal_id
    inner join identities
        on identities.source_system = 'hubspot' and identities.source_id = hubspot_deal_contacts.contact_id
)

select * from salesforce_deals
union all
select * from hubspot_deals
