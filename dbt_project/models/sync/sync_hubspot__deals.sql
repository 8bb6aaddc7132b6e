{{ config(schema='activation') }}
-- Desired Salesforce Account of each HubSpot deal: the Account paired (by domain) with the deal's company,
-- its primary company if it has one, else its lowest-id company. An Opportunity created from the deal gets it.
with deal_companies as (
    select
        deal_id,
        associated_id as company_id,
        row_number() over (
            -- 5: HubSpot's "Primary" deal-to-company association type
            partition by deal_id
            order by case when association_type_id = 5 then 0 else 1 end, length(associated_id), associated_id
        ) as company_rank
    from {{ ref('stg_hubspot__deal_associations') }}
    where associated_type = 'companies'
)

select
    d.deal_id as hubspot_deal_id,
    c.company_id as hubspot_company_id,
    h.salesforce_id as salesforce_account_id
from {{ ref('stg_hubspot__deals') }} as d
left join deal_companies as c on c.deal_id = d.deal_id and c.company_rank = 1
left join {{ ref('sync_hubspot__companies') }} as h on h.hubspot_company_id = c.company_id
