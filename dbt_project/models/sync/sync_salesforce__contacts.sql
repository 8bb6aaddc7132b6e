{{ config(schema='activation') }}
-- Desired state of every Salesforce Contact tied to a profile. A profile's primary Salesforce record is its
-- Contact, else its Lead; it is paired with the profile's HubSpot contact.
{{ sync_people(
    'salesforce', 'contact', 'contact_id',
    primary_record='p.salesforce_contact_id',
    partner_column='hubspot_contact_id',
    partner_record='p.hubspot_contact_id',
) }}
