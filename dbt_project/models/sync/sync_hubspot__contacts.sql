{{ config(schema='activation') }}
-- Desired state of every HubSpot contact tied to a profile. The profile's primary HubSpot contact is paired
-- with its primary Salesforce record (its Contact, else its Lead).
{{ sync_people(
    'hubspot', 'hubspot_contact', 'hubspot_contact_id',
    primary_record='p.hubspot_contact_id',
    partner_column='salesforce_id',
    partner_record='coalesce(p.salesforce_contact_id, p.salesforce_lead_id)',
) }}
