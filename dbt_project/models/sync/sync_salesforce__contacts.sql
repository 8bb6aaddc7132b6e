{{ config(schema='activation') }}
-- Desired state of every Salesforce Contact tied to a profile: the revloop key, the HubSpot partner and the
-- enriched fields. The profile's primary Salesforce record (its Contact, else its Lead) carries the profile id
-- as Revloop_Id__c and is paired with the profile's HubSpot contact; other records of the same person get a
-- key of their own (Revloop_Id__c is unique) and only the enriched fields.
with links as (
    select profile_id, source_id as record_id
    from {{ ref('identity_links') }}
    where source_system = 'salesforce' and source_record_type = 'contact'
),

profiles as (
    select * from {{ ref('customer_profiles') }}
)

select
    l.record_id as contact_id,
    l.profile_id,
    case when p.salesforce_contact_id = l.record_id then l.profile_id
        else {{ dbt.concat(["l.profile_id", "':'", "l.record_id"]) }} end as revloop_id,
    coalesce(p.salesforce_contact_id = l.record_id, false) as is_primary,
    case when p.salesforce_contact_id = l.record_id then p.hubspot_contact_id end as hubspot_contact_id,
    p.email,
    p.lead_score,
    p.churn_risk,
    p.purchase_likelihood,
    p.engagement_potential,
    -- marts.segment_memberships does not exist yet (segments issue): no segment is claimed
    cast(null as {{ dbt.type_string() }}) as segments
from links as l
inner join profiles as p on p.profile_id = l.profile_id
