{#- The company of each profile, for firmographics: the Account of the person's own Salesforce Contact
    first, then the company their HubSpot contact is associated with, then a Salesforce Account or HubSpot
    company whose domain is the domain of one of the person's e-mail addresses. Free-mail domains (config
    enrichment.free_email_domains) never match a company. An association revloop's sync made itself
    (activation.written_associations) is no evidence: it copies a match made elsewhere; and a company
    record revloop created (a baseline without a time, activation.sync_record_baselines) is a copy of another CRM's record, so it ranks after every
    original. -#}
{%- set cfg = var('revloop', {}).get('survivorship') or {} -%}
{%- set free_domains = (cfg.get('enrichment') or {}).get('free_email_domains') or [] -%}
{%- set industry_map = (cfg.get('value_maps') or {}).get('industry') or {} -%}
{%- set text = dbt.type_string() -%}

with crm_records as (
    select source_system, source_id, profile_id
    from {{ ref('int_identities_resolved') }}
    where source_system in ('salesforce', 'hubspot')
),

companies as (
    select
        'salesforce_account' as company_source,
        accounts.account_id as company_record_id,
        accounts.account_name as company_name,
        accounts.domain as company_domain,
        cast(accounts.industry as {{ text }}) as company_industry,
        cast(accounts.annual_revenue as {{ dbt.type_numeric() }}) as annual_revenue,
        cast(accounts.employee_count as {{ dbt.type_bigint() }}) as employee_count,
        accounts.country as company_country,
        accounts.city as company_city,
        -- Salesforce's standard Account types: Customer - Direct, Customer - Channel
        coalesce(lower(accounts.account_type) like 'customer%', false) as is_customer_company,
        -- the Account field config enrichment.salesforce_technology_field names
        accounts.technologies,
        accounts.updated_at
    from {{ ref('stg_salesforce__accounts') }} as accounts
    union all
    select
        'hubspot_company' as company_source,
        hs_companies.company_id as company_record_id,
        hs_companies.company_name,
        hs_companies.domain as company_domain,
        cast(hs_companies.industry as {{ text }}) as company_industry,
        cast(hs_companies.annual_revenue as {{ dbt.type_numeric() }}) as annual_revenue,
        cast(hs_companies.employee_count as {{ dbt.type_bigint() }}) as employee_count,
        hs_companies.country as company_country,
        hs_companies.city as company_city,
        coalesce(hs_companies.lifecycle_stage = 'customer', false) as is_customer_company,
        hs_companies.web_technologies as technologies,
        hs_companies.updated_at
    from {{ ref('stg_hubspot__companies') }} as hs_companies
),

own_accounts as (
    select
        records.profile_id,
        'account_id' as match_method,
        1 as method_rank,
        'salesforce_account' as company_source,
        contacts.account_id as company_record_id,
        cast(null as {{ text }}) as matched_domain,
        contacts.updated_at as evidence_at
    from {{ ref('stg_salesforce__contacts') }} as contacts
    inner join crm_records as records
        on records.source_system = 'salesforce' and records.source_id = contacts.contact_id
    where contacts.account_id is not null
),

created_records as (
    select record_id
    from ({{ source_or_empty('activation', 'sync_record_baselines', {
        'crm': 'string', 'record_id': 'string', 'modified_before': 'timestamp', 'written_at': 'timestamp',
    }) }}) as baselines
    where modified_before is null
),

written_associations as (
    select from_id as contact_id, to_id as company_id
    from ({{ source_or_empty('activation', 'written_associations', {
        'from_type': 'string', 'from_id': 'string', 'to_type': 'string', 'to_id': 'string',
    }) }}) as written
    where from_type = 'contacts' and to_type = 'companies'
),

associated_companies as (
    select
        records.profile_id,
        'association' as match_method,
        2 as method_rank,
        'hubspot_company' as company_source,
        associations.company_id as company_record_id,
        cast(null as {{ text }}) as matched_domain,
        hs_contacts.updated_at as evidence_at
    from {{ ref('stg_hubspot__contact_company_associations') }} as associations
    inner join {{ ref('stg_hubspot__contacts') }} as hs_contacts
        on hs_contacts.contact_id = associations.contact_id
    inner join crm_records as records
        on records.source_system = 'hubspot' and records.source_id = associations.contact_id
    left join written_associations as written
        on written.contact_id = associations.contact_id and written.company_id = associations.company_id
    where written.contact_id is null
),

email_domains as (
    select distinct
        profile_id,
        {{ email_domain('attribute_value') }} as email_domain,
        observed_at
    from {{ ref('int_profile_attributes_stated') }}
    where attribute = 'email'
),

business_domains as (
    select profile_id, email_domain, max(observed_at) as evidence_at
    from email_domains
    where email_domain is not null
    {%- if free_domains %}
        and email_domain not in ({% for domain in free_domains %}'{{ domain | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
    {%- endif %}
    group by profile_id, email_domain
),

domain_matches as (
    select
        business_domains.profile_id,
        'email_domain' as match_method,
        case companies.company_source when 'salesforce_account' then 3 else 4 end as method_rank,
        companies.company_source,
        companies.company_record_id,
        business_domains.email_domain as matched_domain,
        business_domains.evidence_at
    from business_domains
    inner join companies on companies.company_domain = business_domains.email_domain
),

matches as (
    select * from own_accounts
    union all
    select * from associated_companies
    union all
    select * from domain_matches
),

ranked as (
    select
        matches.profile_id,
        matches.match_method,
        matches.matched_domain,
        companies.*,
        row_number() over (
            partition by matches.profile_id
            order by case when created_records.record_id is null then 0 else 1 end, matches.method_rank,
                matches.evidence_at desc nulls last, companies.updated_at desc nulls last,
                companies.company_record_id
        ) as match_rank
    from matches
    inner join companies
        on companies.company_source = matches.company_source
        and companies.company_record_id = matches.company_record_id
    left join created_records on created_records.record_id = matches.company_record_id
)

select
    profile_id,
    company_source,
    company_record_id,
    match_method as company_match_method,
    matched_domain,
    company_name,
    company_domain,
    {% if industry_map -%}
    case company_industry
        {%- for raw, mapped in industry_map.items() %}
        when '{{ raw | replace("'", "''") }}' then '{{ mapped | replace("'", "''") }}'
        {%- endfor %}
        else company_industry
    end
    {%- else -%}
    company_industry
    {%- endif %} as company_industry,
    annual_revenue,
    employee_count,
    company_country,
    company_city,
    is_customer_company,
    -- ";"-separated in both CRMs: listed with ", " like the profile's other lists
    nullif(trim(replace(replace(technologies, '; ', ';'), ';', ', ')), '') as technology_stack,
    case when nullif(trim(technologies), '') is not null then company_source end as technology_stack_source
from ranked
where match_rank = 1
