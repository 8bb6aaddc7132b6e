{{ config(schema='activation') }}
-- The current Salesforce Lead records (macro salesforce_records), every raw column: what the sync compares
-- with. Converted Leads are left out: Salesforce refuses updates to them.
select *
from ({{ salesforce_records('lead', {'is_converted': 'boolean'}, all_columns=true) }}) as leads
where not coalesce(is_converted, false)
