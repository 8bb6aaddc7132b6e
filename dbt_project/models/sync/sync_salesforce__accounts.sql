{{ config(schema='activation') }}
-- Desired pairing of Salesforce Accounts with HubSpot companies by web domain (lower-case host, no www.).
-- Per domain the oldest Account and the oldest company are the pair and carry revloop_id 'domain:<domain>';
-- other records of a shared domain are left alone (a duplicate is the admin's to merge, not revloop's).
with accounts as (
    select
        account_id,
        domain,
        row_number() over (partition by domain order by created_at, account_id) as domain_rank
    from {{ ref('stg_salesforce__accounts') }}
    where domain is not null
),

companies as (
    select
        company_id,
        lower(domain) as domain,
        row_number() over (partition by lower(domain) order by created_at, company_id) as domain_rank
    from {{ ref('stg_hubspot__companies') }}
    where domain is not null
)

select
    a.account_id,
    a.domain,
    {{ dbt.concat(["'domain:'", "a.domain"]) }} as revloop_id,
    c.company_id as hubspot_company_id
from accounts as a
left join companies as c on c.domain = a.domain and c.domain_rank = 1
where a.domain_rank = 1
