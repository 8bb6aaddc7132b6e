{{ config(schema='activation') }}
-- The current Salesforce OpportunityContactRole records (macro salesforce_records), every raw column: the
-- contact roles the deal-contact sync compares with.
{{ salesforce_records('opportunitycontactrole', {'opportunity_id': 'string', 'contact_id': 'string'},
                      all_columns=true) }}
