{{ config(schema='activation') }}
-- The current HubSpot deals (macro hubspot_records: archived ones left out), every raw column: what the sync
-- compares with.
{{ hubspot_records('deals', {}, all_columns=true) }}
