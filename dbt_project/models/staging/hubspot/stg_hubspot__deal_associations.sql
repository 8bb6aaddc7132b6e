-- One row per deal, associated record and association type.
with source as (
    {{ source_or_empty('raw_hubspot', 'deal_associations', {
        'from_type': 'string', 'from_id': 'string', 'to_type': 'string', 'to_id': 'string',
        'association_type_id': 'bigint',
    }) }}
),

links as (
    select distinct
        {{ clean_text('from_id') }} as deal_id,
        lower(trim(to_type)) as associated_type,
        {{ clean_text('to_id') }} as associated_id,
        association_type_id
    from source
    where lower(trim(from_type)) = 'deals'
)

select deal_id, associated_type, associated_id, association_type_id
from links
where deal_id is not null and associated_id is not null and associated_type in ('contacts', 'companies')
