{{ config(schema='activation') }}
-- The current Salesforce Account records (macro salesforce_records), every raw column: what the sync
-- compares with.
{{ salesforce_records('account', {}, all_columns=true) }}
