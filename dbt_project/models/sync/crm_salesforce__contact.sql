{{ config(schema='activation') }}
-- The current Salesforce Contact records (macro salesforce_records), every raw column: what the sync
-- compares with.
{{ salesforce_records('contact', {}, all_columns=true) }}
