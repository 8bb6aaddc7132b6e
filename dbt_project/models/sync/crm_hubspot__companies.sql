{{ config(schema='activation') }}
-- The current HubSpot companies (macro hubspot_records: archived ones left out), every raw column: what the sync
-- compares with.
{{ hubspot_records('companies', {}, all_columns=true) }}
