{#- One row per resolved profile: surviving attribute values with their sources, firmographics from the
    matched company, demographics, psychographics, technographics and behaviour. Columns nobody states
    stay null. -#}
{%- set cfg = var('revloop', {}).get('survivorship') or {} -%}
{%- set enrichment = cfg.get('enrichment') or {} -%}
{%- set max_interests = enrichment.get('max_interests', 5) | int -%}
{%- set text_attributes = ['email', 'phone', 'first_name', 'last_name', 'job_title', 'country', 'city'] -%}
{#- stated attributes (survivorship) passed on with their source as they are -#}
{%- set stated_attributes = ['gender', 'language', 'income_level', 'department', 'user_roles', 'personal_values',
    'lifestyle', 'personality'] -%}

with identities as (
    select * from {{ ref('int_identities_resolved') }}
),

profiles as (
    select
        profile_id,
        max(case when source_system in ('salesforce', 'hubspot') or source_record_type = 'event_user'
            then 1 else 0 end) as has_known_record
    from identities
    group by profile_id
),

survived as (
    select * from {{ ref('int_profile_attributes_survived') }}
),

attributes as (
    select
        profile_id,
        {%- for attribute in text_attributes + stated_attributes
            + ['company_name', 'industry', 'lifecycle_stage', 'communication_preference'] %}
        max(case when attribute = '{{ attribute }}' then attribute_value end) as {{ attribute }},
        max(case when attribute = '{{ attribute }}' then source end) as {{ attribute }}_source,
        {%- endfor %}
        max(case when attribute = 'annual_revenue' then {{ safe_number('attribute_value') }} end) as annual_revenue,
        max(case when attribute = 'annual_revenue' then source end) as annual_revenue_source,
        max(case when attribute = 'employee_count' then {{ safe_number('attribute_value', 'bigint') }} end)
            as employee_count,
        max(case when attribute = 'employee_count' then source end) as employee_count_source,
        -- an age outside 0-130 is a typo, not an age
        max(case when attribute = 'age' and {{ safe_number('attribute_value', 'bigint') }} between 0 and 130
            then {{ safe_number('attribute_value', 'bigint') }} end) as age,
        max(case when attribute = 'age' and {{ safe_number('attribute_value', 'bigint') }} between 0 and 130
            then source end) as age_source
    from survived
    group by profile_id
),

crm_records as (
    select identities.profile_id, 'salesforce_contact' as record_kind, contacts.contact_id as record_id,
        contacts.created_at, contacts.updated_at
    from {{ ref('stg_salesforce__contacts') }} as contacts
    inner join identities on identities.source_system = 'salesforce' and identities.source_id = contacts.contact_id
    union all
    select identities.profile_id, 'salesforce_lead', leads.lead_id, leads.created_at, leads.updated_at
    from {{ ref('stg_salesforce__leads') }} as leads
    inner join identities on identities.source_system = 'salesforce' and identities.source_id = leads.lead_id
    union all
    select identities.profile_id, 'hubspot_contact', hs_contacts.contact_id, hs_contacts.created_at,
        hs_contacts.updated_at
    from {{ ref('stg_hubspot__contacts') }} as hs_contacts
    inner join identities on identities.source_system = 'hubspot' and identities.source_id = hs_contacts.contact_id
),

latest_crm_records as (
    select
        profile_id,
        record_kind,
        record_id,
        -- the oldest record of each kind, not the last updated: revloop's own writes update records, and the
        -- record the sync keys and pairs must not move because of them
        row_number() over (
            partition by profile_id, record_kind order by created_at nulls last, record_id
        ) as recency
    from crm_records
),

crm_ids as (
    select
        profile_id,
        max(case when record_kind = 'salesforce_contact' then record_id end) as salesforce_contact_id,
        max(case when record_kind = 'salesforce_lead' then record_id end) as salesforce_lead_id,
        max(case when record_kind = 'hubspot_contact' then record_id end) as hubspot_contact_id
    from latest_crm_records
    where recency = 1
    group by profile_id
),

seen as (
    select profile_id, min(seen_at) as first_seen_at, max(seen_at) as last_seen_at
    from (
        select profile_id, created_at as seen_at from crm_records
        union all
        select profile_id, occurred_at as seen_at from {{ ref('int_touchpoints') }} where touch_source = 'event'
    ) as moments
    group by profile_id
),

ranked_interests as (
    select
        profile_id,
        interest,
        engagement_count,
        row_number() over (
            partition by profile_id order by engagement_count desc, last_engaged_at desc, interest
        ) as interest_rank
    from {{ ref('int_profile_interests') }}
),

interests as (
    select
        profile_id,
        {{ dbt.listagg('interest', "', '", 'order by interest_rank') }} as interests,
        max(case when interest_rank = 1 then interest end) as top_interest
    from ranked_interests
    where interest_rank <= {{ max_interests }}
    group by profile_id
),

companies as (
    select * from {{ ref('int_profile_companies_matched') }}
),

engagement as (
    select * from {{ ref('int_profile_engagement') }}
),

lifecycle as (
    select
        profiles.profile_id,
        coalesce(engagement.order_count, 0) > 0
            or coalesce(companies.is_customer_company, false) as is_customer,
        attributes.lifecycle_stage as stated_stage,
        attributes.lifecycle_stage_source as stated_stage_source,
        profiles.has_known_record = 1 or attributes.email is not null or attributes.phone is not null as is_known
    from profiles
    left join attributes on attributes.profile_id = profiles.profile_id
    left join companies on companies.profile_id = profiles.profile_id
    left join engagement on engagement.profile_id = profiles.profile_id
)

select
    profiles.profile_id,
    {%- for attribute in text_attributes %}
    attributes.{{ attribute }},
    attributes.{{ attribute }}_source,
    {%- endfor %}
    {{ email_domain('attributes.email') }} as email_domain,
    -- the company a person states, else the one matched to them
    coalesce(attributes.company_name, companies.company_name) as company_name,
    case
        when attributes.company_name is not null then attributes.company_name_source
        when companies.company_name is not null then companies.company_source
    end as company_name_source,
    coalesce(attributes.industry, companies.company_industry) as industry,
    case
        when attributes.industry is not null then attributes.industry_source
        when companies.company_industry is not null then companies.company_source
    end as industry_source,
    -- firmographics: the matched company's figures, else what the person's records state
    coalesce(companies.annual_revenue, attributes.annual_revenue) as annual_revenue,
    case
        when companies.annual_revenue is not null then companies.company_source
        else attributes.annual_revenue_source
    end as annual_revenue_source,
    coalesce(companies.employee_count, attributes.employee_count) as employee_count,
    case
        when companies.employee_count is not null then companies.company_source
        else attributes.employee_count_source
    end as employee_count_source,
    companies.company_source,
    companies.company_record_id,
    companies.company_match_method,
    companies.company_domain,
    companies.company_industry,
    companies.company_country,
    companies.company_city,
    {{ band('coalesce(companies.employee_count, attributes.employee_count)', enrichment.get('company_size_bands')) }}
        as company_size_band,
    {{ band('coalesce(companies.annual_revenue, attributes.annual_revenue)', enrichment.get('revenue_bands')) }}
        as revenue_band,
    demographics.locale,
    case when demographics.locale is not null then 'context_locale' end as locale_source,
    attributes.age,
    attributes.age_source,
    {{ band('attributes.age', enrichment.get('age_ranges')) }} as age_range,
    {%- for attribute in stated_attributes %}
    attributes.{{ attribute }},
    attributes.{{ attribute }}_source,
    {%- endfor %}
    companies.technology_stack,
    companies.technology_stack_source,
    usage.platform_usage,
    usage.platform_usage_source,
    usage.integration_count,
    usage.integration_count_source,
    interests.interests,
    interests.top_interest,
    -- an opt-in the person stated wins over the channel they engage on most
    coalesce(attributes.communication_preference, engagement.communication_preference)
        as communication_preference,
    case
        when attributes.communication_preference is not null then attributes.communication_preference_source
        when engagement.communication_preference is not null then 'channel_behaviour'
    end as communication_preference_source,
    technographics.browser_family,
    technographics.os_family,
    technographics.device_type,
    coalesce(engagement.engagement_level, 'none') as engagement_level,
    coalesce(engagement.interaction_count, 0) as interaction_count,
    coalesce(engagement.recent_interaction_count, 0) as recent_interaction_count,
    engagement.last_interaction_at,
    coalesce(engagement.order_count, 0) as order_count,
    engagement.order_revenue,
    lifecycle.is_customer,
    case
        when lifecycle.is_customer and coalesce(lifecycle.stated_stage, '') not in ('customer', 'evangelist')
            then 'customer'
        when lifecycle.stated_stage is not null then lifecycle.stated_stage
        when lifecycle.is_known then 'lead'
        else 'visitor'
    end as lifecycle_stage,
    case
        when lifecycle.is_customer and coalesce(lifecycle.stated_stage, '') not in ('customer', 'evangelist')
            then 'derived'
        when lifecycle.stated_stage is not null then lifecycle.stated_stage_source
        else 'derived'
    end as lifecycle_stage_source,
    crm_ids.salesforce_contact_id,
    crm_ids.salesforce_lead_id,
    crm_ids.hubspot_contact_id,
    seen.first_seen_at,
    seen.last_seen_at
from profiles
left join attributes on attributes.profile_id = profiles.profile_id
left join companies on companies.profile_id = profiles.profile_id
left join {{ ref('int_profile_demographics') }} as demographics on demographics.profile_id = profiles.profile_id
left join {{ ref('int_profile_product_usage') }} as usage on usage.profile_id = profiles.profile_id
left join interests on interests.profile_id = profiles.profile_id
left join engagement on engagement.profile_id = profiles.profile_id
left join {{ ref('int_profile_technographics') }} as technographics
    on technographics.profile_id = profiles.profile_id
left join lifecycle on lifecycle.profile_id = profiles.profile_id
left join crm_ids on crm_ids.profile_id = profiles.profile_id
left join seen on seen.profile_id = profiles.profile_id
