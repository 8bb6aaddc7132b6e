{{ config(schema='activation') }}
-- Desired pairing of HubSpot companies with Salesforce Accounts by web domain; the mirror of
-- sync_salesforce__accounts (oldest record per domain on each side; revloop_id 'domain:<domain>').
with companies as (
    select
        company_id,
        lower(domain) as domain,
        row_number() over (partition by lower(domain) order by created_at, company_id) as domain_rank
    from {{ ref('stg_hubspot__companies') }}
    where domain is not null
),

accounts as (
    select
        account_id,
        domain,
        row_number() over (partition by domain order by created_at, account_id) as domain_rank
    from {{ ref('stg_salesforce__accounts') }}
    where domain is not null
)

select
    c.company_id as hubspot_company_id,
    c.domain,
    {{ dbt.concat(["'domain:'", "c.domain"]) }} as revloop_id,
    a.account_id as salesforce_id
from companies as c
left join accounts as a on a.domain = c.domain and a.domain_rank = 1
where c.domain_rank = 1
