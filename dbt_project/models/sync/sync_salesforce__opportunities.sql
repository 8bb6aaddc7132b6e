{{ config(schema='activation') }}
-- Desired HubSpot company of each Opportunity's deal: the company paired (by domain) with the Opportunity's
-- Account. A deal's contacts come from the Opportunity's contact roles, paired record to record by the sync
-- itself (activation/deal_contacts.py), not from this model.
select
    o.opportunity_id,
    o.account_id,
    a.hubspot_company_id
from {{ ref('stg_salesforce__opportunities') }} as o
left join {{ ref('sync_salesforce__accounts') }} as a on a.account_id = o.account_id
