-- A view: merges move links between keys, and the raw link table is small.
{{ config(materialized='view') }}
-- One row per deal, associated record and association type.
with source as (
    {{ source_or_empty('raw_hubspot', 'deal_associations', {
        'from_type': 'string', 'from_id': 'string', 'to_type': 'string', 'to_id': 'string',
        'association_type_id': 'bigint',
    }) }}
),

-- Records merged away lend their links to the record they were merged into (HubSpot moves them too).
links as (
    select distinct
        {{ hubspot_current_id(clean_text('from_id'), 'deals') }} as deal_id,
        lower(trim(to_type)) as associated_type,
        case lower(trim(to_type))
            when 'contacts' then {{ hubspot_current_id(clean_text('to_id'), 'contacts') }}
            when 'companies' then {{ hubspot_current_id(clean_text('to_id'), 'companies') }}
            else {{ clean_text('to_id') }}
        end as associated_id,
        association_type_id
    from source
    where lower(trim(from_type)) = 'deals'
)

select deal_id, associated_type, associated_id, association_type_id
from links
where deal_id is not null and associated_id is not null and associated_type in ('contacts', 'companies')
