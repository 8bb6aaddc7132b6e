{{ config(schema='activation') }}
-- The current HubSpot contacts (macro hubspot_records: archived ones left out), every raw column: what the sync
-- compares with.
{{ hubspot_records('contacts', {}, all_columns=true) }}
