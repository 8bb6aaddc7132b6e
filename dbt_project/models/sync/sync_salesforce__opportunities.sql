{{ config(schema='activation') }}
-- Desired HubSpot company of each Opportunity's deal: the company paired (by domain) with the Opportunity's
-- Account. Contacts are not derived: Opportunity contact roles are not loaded and an Account names no
-- primary contact, so a deal is associated with its company only.
select
    o.opportunity_id,
    o.account_id,
    a.hubspot_company_id
from {{ ref('stg_salesforce__opportunities') }} as o
left join {{ ref('sync_salesforce__accounts') }} as a on a.account_id = o.account_id
