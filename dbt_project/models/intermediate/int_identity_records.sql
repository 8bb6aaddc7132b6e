{{ config(tags=["pre_identity"]) }}

{#-
    Every identity-bearing source record, one row per record and distinct observation of its identifiers.

    A record is what identity resolution links and what gets a profile_id:
      - a Salesforce lead or contact, a HubSpot contact (source_id = the CRM's record id);
      - an event record: one per (channel, userId) (source_record_type event_user, source_id = userId) and
        one per (channel, anonymousId) of the messages that carry no userId (event_anonymous). A message
        belongs to the user record when it has a userId, otherwise to the anonymous record; this rule is
        repeated in int_event_messages_resolved, which gives every message its record's profile_id.
    An observation is a distinct combination of identifiers seen on the record: a CRM record has one row,
    or two when a second (mobile) phone differs; an event record one row per distinct combination of
    e-mail, phone, userId, anonymousId, device, IP and user agent of its messages, with message_count.
    page_paths and active_hours (behaviour of the whole record, '|'-separated) repeat on each of its rows.
    An e-mail or phone a CRM record holds because revloop wrote it there (activation.written_values) is an
    echo of revloop's own profile, not evidence: it is left out. The cross ids revloop writes to pair
    records (Salesforce HubSpot_Id__c, HubSpot salesforce_id) are evidence, read from whichever side holds
    one: they only ever name the record a person's other record was paired with or created from.
-#}
with events as (
    select
        channel as source_system,
        case when user_id is not null then 'event_user' else 'event_anonymous' end as source_record_type,
        coalesce(user_id, anonymous_id) as source_id,
        email,
        phone as phone_raw,
        trait_country as country,
        user_id as customer_id,
        anonymous_id,
        device_id,
        ip,
        user_agent,
        page_path,
        occurred_at
    from {{ ref('int_events_unioned') }}
    where coalesce(user_id, anonymous_id) is not null
),

event_observations as (
    select
        source_system,
        source_record_type,
        source_id,
        email,
        phone_raw,
        max(country) as country,
        customer_id,
        anonymous_id,
        device_id,
        ip,
        user_agent,
        min(occurred_at) as observed_at,
        count(*) as message_count
    from events
    group by
        source_system, source_record_type, source_id, email, phone_raw, customer_id, anonymous_id,
        device_id, ip, user_agent
),

record_pages as (
    select distinct source_system, source_record_type, source_id, page_path
    from events
    where page_path is not null
),

page_lists as (
    select
        source_system,
        source_record_type,
        source_id,
        {{ dbt.listagg('page_path', "'|'", 'order by page_path') }} as page_paths
    from record_pages
    group by source_system, source_record_type, source_id
),

record_hours as (
    select distinct
        source_system,
        source_record_type,
        source_id,
        cast(extract(hour from occurred_at) as integer) as active_hour
    from events
),

hour_lists as (
    select
        source_system,
        source_record_type,
        source_id,
        {{ dbt.listagg('cast(active_hour as ' ~ dbt.type_string() ~ ')', "'|'", 'order by active_hour') }}
            as active_hours
    from record_hours
    group by source_system, source_record_type, source_id
),

-- The HubSpot contact that names a Salesforce record in its salesforce_id (the smallest id when several
-- do): the same pairing as the record's own HubSpot_Id__c, read from the other side. revloop writes both
-- when it pairs or creates records, and each reaches the warehouse only when its CRM is read again: a
-- contact revloop created in HubSpot, whose e-mail is revloop's own write, is tied to its Salesforce
-- record by this before Salesforce has been read since.
hubspot_pairings as (
    select salesforce_id, min(contact_id) as hubspot_contact_id
    from {{ ref('stg_hubspot__contacts') }}
    where salesforce_id is not null
    group by salesforce_id
),

crm_records as (
    select
        'salesforce' as source_system,
        'lead' as source_record_type,
        l.lead_id as source_id,
        l.email,
        l.phone,
        cast(null as {{ dbt.type_string() }}) as mobile_phone,
        l.country,
        l.converted_contact_id as salesforce_contact_id,
        coalesce(l.hubspot_id, hp.hubspot_contact_id) as hubspot_contact_id,
        l.created_at as observed_at
    from {{ ref('stg_salesforce__leads') }} as l
    left join hubspot_pairings as hp on hp.salesforce_id = l.lead_id
    union all
    select
        'salesforce',
        'contact',
        c.contact_id,
        c.email,
        c.phone,
        c.mobile_phone,
        c.country,
        c.contact_id,
        coalesce(c.hubspot_id, hp.hubspot_contact_id),
        c.created_at
    from {{ ref('stg_salesforce__contacts') }} as c
    left join hubspot_pairings as hp on hp.salesforce_id = c.contact_id
    union all
    select
        'hubspot',
        'hubspot_contact',
        contact_id,
        email,
        phone,
        mobile_phone,
        country,
        cast(null as {{ dbt.type_string() }}),
        contact_id,
        created_at
    from {{ ref('stg_hubspot__contacts') }}
),

written as (
    {{ source_or_empty('activation', 'written_values', {
        'crm': 'string', 'record_id': 'string', 'field': 'string', 'value_json': 'string',
    }) }}
),

-- value_json is the JSON text of the written value: a quoted string for e-mails and phones
crm_evidence as (
    select
        r.source_system,
        r.source_record_type,
        r.source_id,
        case when we.record_id is null then r.email end as email,
        case when wp.record_id is null then r.phone end as phone,
        r.mobile_phone,
        r.country,
        r.salesforce_contact_id,
        r.hubspot_contact_id,
        r.observed_at
    from crm_records as r
    left join written as we
        on we.crm = r.source_system
        and we.record_id = r.source_id
        and lower(we.field) = 'email'
        and lower(we.value_json) = lower('"' || r.email || '"')
    left join written as wp
        on wp.crm = r.source_system
        and wp.record_id = r.source_id
        and lower(wp.field) = 'phone'
        and wp.value_json = '"' || r.phone || '"'
),

crm_observations as (
    select
        source_system, source_record_type, source_id, email, phone as phone_raw, country,
        salesforce_contact_id, hubspot_contact_id, observed_at
    from crm_evidence
    union all
    -- a mobile number that differs from the main one is a second observation of the record
    select
        source_system, source_record_type, source_id, email, mobile_phone, country,
        salesforce_contact_id, hubspot_contact_id, observed_at
    from crm_evidence
    where mobile_phone is not null and mobile_phone <> coalesce(phone, '')
)

select
    source_system,
    source_record_type,
    source_id,
    email,
    phone_raw,
    country,
    cast(null as {{ dbt.type_string() }}) as customer_id,
    cast(null as {{ dbt.type_string() }}) as anonymous_id,
    salesforce_contact_id,
    hubspot_contact_id,
    cast(null as {{ dbt.type_string() }}) as device_id,
    cast(null as {{ dbt.type_string() }}) as ip,
    cast(null as {{ dbt.type_string() }}) as user_agent,
    observed_at,
    cast(1 as bigint) as message_count,
    cast(null as {{ dbt.type_string() }}) as page_paths,
    cast(null as {{ dbt.type_string() }}) as active_hours
from crm_observations
union all
select
    o.source_system,
    o.source_record_type,
    o.source_id,
    o.email,
    o.phone_raw,
    o.country,
    o.customer_id,
    o.anonymous_id,
    cast(null as {{ dbt.type_string() }}) as salesforce_contact_id,
    cast(null as {{ dbt.type_string() }}) as hubspot_contact_id,
    o.device_id,
    o.ip,
    o.user_agent,
    o.observed_at,
    o.message_count,
    p.page_paths,
    h.active_hours
from event_observations as o
left join page_lists as p
    on o.source_system = p.source_system
    and o.source_record_type = p.source_record_type
    and o.source_id = p.source_id
left join hour_lists as h
    on o.source_system = h.source_system
    and o.source_record_type = h.source_record_type
    and o.source_id = h.source_id
