{{ config(schema='activation') }}
-- The current Salesforce Opportunity records (macro salesforce_records), every raw column: what the sync
-- compares with.
{{ salesforce_records('opportunity', {}, all_columns=true) }}
