{#- CRM deals of each profile, with the part the profile plays in each (deal_role):
    - buyer: the purchase is theirs. Salesforce: the Opportunity's primary contact role (every contact role
      when none is primary); HubSpot: a contact associated with the deal.
    - involved: another contact role on a Salesforce Opportunity that has a primary contact.
    - account: a contact of the deal's account (Salesforce Account, HubSpot company) with no part in it.
    A won deal is a purchase of its buyers only; for colleagues it is an account feature, and it makes everyone
    at the account a customer whose churn is the account's (marts.ml_features.label_churn). closed_at is null
    while open. role_linked_at is when the profile's part began (the contact role's creation; for a contact of
    the account, the contact's), account_linked_at when the profile was first at the deal's account: features
    as of a date only count the links that existed before it. HubSpot keeps no date of an association: it is
    taken as made once both records existed. -#}

with identities as (
    select profile_id, source_system, source_id
    from {{ ref('int_identities_resolved') }}
    where source_system in ('salesforce', 'hubspot')
),

opportunities as (
    select
        opportunity_id as deal_id,
        account_id,
        amount,
        created_at,
        case when is_closed then cast(close_date as {{ dbt.type_timestamp() }}) end as closed_at,
        coalesce(is_won, false) as is_won
    from {{ ref('stg_salesforce__opportunities') }}
),

contact_roles as (
    select
        roles.opportunity_id,
        roles.contact_id,
        roles.is_primary,
        roles.created_at,
        max(case when roles.is_primary then 1 else 0 end) over (partition by roles.opportunity_id) as has_primary
    from {{ ref('stg_salesforce__opportunity_contact_roles') }} as roles
),

salesforce_links as (
    select
        opportunity_id as deal_id,
        contact_id,
        case when is_primary or has_primary = 0 then 'buyer' else 'involved' end as deal_role,
        created_at as linked_at
    from contact_roles
    union all
    select opportunities.deal_id, contacts.contact_id, 'account', contacts.created_at
    from opportunities
    inner join {{ ref('stg_salesforce__contacts') }} as contacts on contacts.account_id = opportunities.account_id
),

hubspot_contacts as (
    select contact_id, created_at from {{ ref('stg_hubspot__contacts') }}
),

hubspot_links as (
    select associations.deal_id, associations.associated_id as contact_id, 'buyer' as deal_role,
        contacts.created_at as linked_at
    from {{ ref('stg_hubspot__deal_associations') }} as associations
    left join hubspot_contacts as contacts on contacts.contact_id = associations.associated_id
    where associations.associated_type = 'contacts'
    union all
    select deals.deal_id, members.contact_id, 'account', greatest(contacts.created_at, companies.created_at)
    from {{ ref('stg_hubspot__deal_associations') }} as deals
    inner join {{ ref('stg_hubspot__contact_company_associations') }} as members
        on members.company_id = deals.associated_id
    left join hubspot_contacts as contacts on contacts.contact_id = members.contact_id
    left join {{ ref('stg_hubspot__companies') }} as companies on companies.company_id = members.company_id
    where deals.associated_type = 'companies'
),

links as (
    select
        identities.profile_id,
        'salesforce_opportunity' as deal_source,
        opportunities.deal_id,
        opportunities.amount,
        opportunities.created_at,
        opportunities.closed_at,
        opportunities.is_won,
        salesforce_links.deal_role,
        salesforce_links.linked_at
    from opportunities
    inner join salesforce_links on salesforce_links.deal_id = opportunities.deal_id
    inner join identities
        on identities.source_system = 'salesforce' and identities.source_id = salesforce_links.contact_id
    union all
    select
        identities.profile_id,
        'hubspot_deal',
        deals.deal_id,
        deals.amount,
        deals.created_at,
        case when deals.is_closed then cast(deals.close_date as {{ dbt.type_timestamp() }}) end,
        coalesce(deals.is_won, false),
        hubspot_links.deal_role,
        -- an association is no older than the deal
        greatest(hubspot_links.linked_at, deals.created_at)
    from {{ ref('stg_hubspot__deals') }} as deals
    inner join hubspot_links on hubspot_links.deal_id = deals.deal_id
    inner join identities
        on identities.source_system = 'hubspot' and identities.source_id = hubspot_links.contact_id
),

ranked as (
    select
        links.*,
        min(case deal_role when 'buyer' then 1 when 'involved' then 2 else 3 end)
            over (partition by profile_id, deal_source, deal_id) as role_rank,
        case deal_role when 'buyer' then 1 when 'involved' then 2 else 3 end as link_rank
    from links
)

-- a profile with several records on one deal plays its strongest part in it, since its earliest record of
-- that part; it is at the account since its earliest record of any part
select
    profile_id,
    deal_source,
    deal_id,
    amount,
    created_at,
    closed_at,
    is_won,
    case role_rank when 1 then 'buyer' when 2 then 'involved' else 'account' end as deal_role,
    min(case when link_rank = role_rank then linked_at end) as role_linked_at,
    min(linked_at) as account_linked_at
from ranked
group by profile_id, deal_source, deal_id, amount, created_at, closed_at, is_won, role_rank
