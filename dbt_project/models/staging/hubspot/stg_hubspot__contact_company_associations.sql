-- A view: merges move links between keys, and the raw link table is small.
{{ config(materialized='view') }}
-- One row per contact, company and association type (HubSpot lists the primary link, type 1, beside the
-- unlabelled one, type 279): filter is_primary for one company per contact.
with source as (
    {{ source_or_empty('raw_hubspot', 'contact_company_associations', {
        'from_type': 'string', 'from_id': 'string', 'to_type': 'string', 'to_id': 'string',
        'association_type_id': 'bigint', 'association_label': 'string',
    }) }}
),

-- Records merged away lend their links to the record they were merged into (HubSpot moves them too).
links as (
    select distinct
        {{ hubspot_current_id(clean_text('from_id'), 'contacts') }} as contact_id,
        {{ hubspot_current_id(clean_text('to_id'), 'companies') }} as company_id,
        association_type_id,
        coalesce(association_type_id = 1 or lower(trim(association_label)) = 'primary', false) as is_primary
    from source
    where lower(trim(from_type)) = 'contacts' and lower(trim(to_type)) = 'companies'
)

-- A company archived since its contacts were last loaded keeps their links in raw (a contact's links are
-- replaced only when the contact is loaded again): only links to live companies are kept, as HubSpot shows.
select contact_id, company_id, association_type_id, is_primary
from links
where contact_id is not null
    and company_id in (select company_id from {{ ref('stg_hubspot__companies') }})
