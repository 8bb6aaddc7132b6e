{#- Desired state of every CRM person record (Salesforce Contact or Lead, HubSpot contact) tied to a profile:
    the revloop key, the partner in the other CRM and the enriched fields (scores from customer_profiles,
    segments from marts.segment_memberships). The profile's primary record (`primary_record`, an expression
    over the profile `p`) carries the profile id as its revloop key and is paired with `partner_record`;
    other records of the same person get a key of their own (the CRMs' external ids are unique) and only
    the enriched fields. -#}
{% macro sync_people(source_system, record_type, id_column, primary_record, partner_column, partner_record) %}
with links as (
    select profile_id, source_id as record_id
    from {{ ref('identity_links') }}
    where source_system = '{{ source_system }}' and source_record_type = '{{ record_type }}'
),

profiles as (
    select * from {{ ref('customer_profiles') }}
),

memberships as (
    {#- The segments step runs after the profiles: before its first run no segment is claimed. -#}
    select distinct profile_id, segment_name
    from {{ ref('segment_memberships') }}
),

segments as (
    select
        profile_id,
        {{ dbt.listagg('segment_name', "';'", 'order by segment_name') }} as segments
    from memberships
    group by profile_id
),

records as (
    select
        l.record_id,
        l.profile_id,
        coalesce({{ primary_record }} = l.record_id, false) as is_primary,
        {{ partner_record }} as partner_id,
        p.email,
        p.lead_score,
        p.churn_risk,
        p.purchase_likelihood,
        p.engagement_potential
    from links as l
    inner join profiles as p on p.profile_id = l.profile_id
)

select
    r.record_id as {{ id_column }},
    r.profile_id,
    case when r.is_primary then r.profile_id
        else {{ dbt.concat(["r.profile_id", "':'", "r.record_id"]) }} end as revloop_id,
    r.is_primary,
    case when r.is_primary then r.partner_id end as {{ partner_column }},
    r.email,
    r.lead_score,
    r.churn_risk,
    r.purchase_likelihood,
    r.engagement_potential,
    s.segments
from records as r
left join segments as s on s.profile_id = r.profile_id
{% endmacro %}
