{{ config(schema='activation') }}
-- Contact.AccountId <-> the HubSpot contact's company association, for each Salesforce Contact that is its
-- profile's primary record: the company paired (by domain) with the Contact's Account, and, when the Contact
-- has a HubSpot partner, the Account paired with that contact's company (its primary one, else its lowest
-- id). Each side is only filled where empty; a partner revloop creates in this run is known from the sync.
with contacts as (
    select contact_id, hubspot_contact_id
    from {{ ref('sync_salesforce__contacts') }}
    where is_primary
),

contact_companies as (
    select
        contact_id,
        company_id,
        row_number() over (
            partition by contact_id order by case when is_primary then 0 else 1 end, length(company_id), company_id
        ) as company_rank
    from {{ ref('stg_hubspot__contact_company_associations') }}
)

select
    c.contact_id,
    c.hubspot_contact_id,
    s.account_id,
    a.hubspot_company_id as account_hubspot_company_id,
    cc.company_id as hubspot_company_id,
    h.salesforce_id as company_salesforce_account_id
from contacts as c
inner join {{ ref('stg_salesforce__contacts') }} as s on s.contact_id = c.contact_id
left join {{ ref('sync_salesforce__accounts') }} as a on a.account_id = s.account_id
left join contact_companies as cc on cc.contact_id = c.hubspot_contact_id and cc.company_rank = 1
left join {{ ref('sync_hubspot__companies') }} as h on h.hubspot_company_id = cc.company_id
