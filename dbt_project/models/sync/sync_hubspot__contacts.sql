{{ config(schema='activation') }}
-- Desired state of every HubSpot contact tied to a profile: the revloop key, the Salesforce partner and the
-- enriched fields. The profile's primary HubSpot contact carries the profile id as revloop_id and is paired
-- with the profile's primary Salesforce record (its Contact, else its Lead); other contacts of the same person
-- get a key of their own and only the enriched fields.
with links as (
    select profile_id, source_id as record_id
    from {{ ref('identity_links') }}
    where source_system = 'hubspot' and source_record_type = 'hubspot_contact'
),

profiles as (
    select * from {{ ref('customer_profiles') }}
)

select
    l.record_id as hubspot_contact_id,
    l.profile_id,
    case when p.hubspot_contact_id = l.record_id then l.profile_id
        else {{ dbt.concat(["l.profile_id", "':'", "l.record_id"]) }} end as revloop_id,
    coalesce(p.hubspot_contact_id = l.record_id, false) as is_primary,
    case when p.hubspot_contact_id = l.record_id
        then coalesce(p.salesforce_contact_id, p.salesforce_lead_id) end as salesforce_id,
    p.email,
    p.lead_score,
    p.churn_risk,
    p.purchase_likelihood,
    p.engagement_potential,
    -- marts.segment_memberships does not exist yet (segments issue): no segment is claimed
    cast(null as {{ dbt.type_string() }}) as segments
from links as l
inner join profiles as p on p.profile_id = l.profile_id
