{{ config(schema='activation') }}
-- Desired state of every Salesforce Lead tied to a profile. A Lead is the profile's primary Salesforce
-- record only when the profile has no Contact; it is then paired with the profile's HubSpot contact.
{{ sync_people(
    'salesforce', 'lead', 'lead_id',
    primary_record='case when p.salesforce_contact_id is null then p.salesforce_lead_id end',
    partner_column='hubspot_contact_id',
    partner_record='p.hubspot_contact_id',
) }}
