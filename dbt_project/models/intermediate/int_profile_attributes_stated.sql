{#- Every value a source states about a resolved person: the candidates survivorship chooses from, one row
    per profile, attribute, source and value (its latest statement). Values pass config value_maps and
    placeholder_values first. A CRM field still holding the value revloop's sync wrote into it
    (activation.written_values) states nothing: that value came from another record, and counting it would
    make revloop's own write the newest evidence and move the profile on the next run. For the same reason a
    CRM record's statements are as old as its last change by anyone but revloop
    (activation.sync_record_baselines), not as old as revloop's last write to it. A record revloop created
    states nothing until someone else changes it (its baseline has no time): its values are copies of another
    record's and the defaults its CRM gave it on create. -#}
{%- set cfg = var('revloop', {}).get('survivorship') or {} -%}
{%- if execute and not cfg -%}
    {{ exceptions.raise_compiler_error("var('revloop')['survivorship'] is missing: run dbt through `python -m revloop.dbt`") }}
{%- endif -%}
{%- set attributes = (cfg.get('attributes') or {}).keys() | list -%}
{%- set value_maps = cfg.get('value_maps') or {} -%}
{%- set placeholders = cfg.get('placeholder_values') or {} -%}
{%- set known_stages = var('revloop', {}).get('lifecycle_stages') or [] -%}
{%- if execute and not known_stages -%}
    {{ exceptions.raise_compiler_error("var('revloop')['lifecycle_stages'] is missing: run dbt through `python -m revloop.dbt`") }}
{%- endif -%}
{%- set text = dbt.type_string() -%}
{#- When a CRM record was last changed by anyone but revloop: before revloop's write, when that is its last.
    Salesforce names who changed a record last ({1}, LastModifiedById): revloop's own user (written_by) or
    someone else, whatever the clocks say. HubSpot names no author: a change no later than a minute after
    revloop's write is revloop's. Ids compare by their 15-character form. -#}
{%- set observed = "case when baselines.written_by is not null and {1} is not null"
    ~ " then case when substr({1}, 1, 15) = substr(baselines.written_by, 1, 15)"
    ~ " then baselines.modified_before else {0} end"
    ~ " when baselines.written_until is not null and {0} <= baselines.written_until"
    ~ " then baselines.modified_before else {0} end" -%}
{#- Each CRM source: its staging model (row alias r) with any join it needs, the expression of each attribute
    it states (the others are null), the CRM field (config/sync.yml) each attribute is read from, where
    revloop writes it, and the column naming who changed the record last (Salesforce only). A Contact's
    company and industry are its Account's. -#}
{%- set crm_sources = {
    'salesforce_contact': {
        'crm': 'salesforce', 'model': 'stg_salesforce__contacts', 'id': 'contact_id', 'author': 'r.updated_by_id',
        'joins': 'left join ' ~ ref('stg_salesforce__accounts') ~ ' as accounts on accounts.account_id = r.account_id',
        'values': {'email': 'r.email', 'phone': 'coalesce(r.phone, r.mobile_phone)', 'first_name': 'r.first_name',
            'last_name': 'r.last_name', 'company_name': 'accounts.account_name', 'job_title': 'r.job_title',
            'country': 'r.country', 'city': 'r.city', 'industry': 'accounts.industry',
            'department': 'r.department'},
        'written': {'email': 'Email', 'phone': 'Phone', 'first_name': 'FirstName', 'last_name': 'LastName',
            'job_title': 'Title'},
    },
    'salesforce_lead': {
        'crm': 'salesforce', 'model': 'stg_salesforce__leads', 'id': 'lead_id', 'author': 'r.updated_by_id',
        'values': {'email': 'r.email', 'phone': 'r.phone', 'first_name': 'r.first_name', 'last_name': 'r.last_name',
            'company_name': 'r.company_name', 'job_title': 'r.job_title', 'country': 'r.country', 'city': 'r.city',
            'industry': 'r.industry', 'lifecycle_stage': 'r.lead_status', 'annual_revenue': 'r.annual_revenue',
            'employee_count': 'r.employee_count'},
        'written': {'email': 'Email', 'phone': 'Phone', 'first_name': 'FirstName', 'last_name': 'LastName',
            'job_title': 'Title', 'company_name': 'Company', 'lifecycle_stage': 'Status'},
    },
    'hubspot_contact': {
        'crm': 'hubspot', 'model': 'stg_hubspot__contacts', 'id': 'contact_id',
        'values': {'email': 'r.email', 'phone': 'coalesce(r.phone, r.mobile_phone)', 'first_name': 'r.first_name',
            'last_name': 'r.last_name', 'company_name': 'r.company_name', 'job_title': 'r.job_title',
            'country': 'r.country', 'city': 'r.city', 'industry': 'r.industry', 'lifecycle_stage': 'r.lifecycle_stage',
            'department': 'r.department'},
        'written': {'email': 'email', 'phone': 'phone', 'first_name': 'firstname', 'last_name': 'lastname',
            'job_title': 'jobtitle', 'company_name': 'company'},
    },
} -%}
{%- set event_values = {'email': 'events.email', 'phone': 'events.phone', 'first_name': 'events.trait_first_name',
    'last_name': 'events.trait_last_name', 'company_name': 'events.trait_company_name',
    'job_title': 'events.trait_title', 'country': 'events.trait_country', 'city': 'events.trait_city',
    'industry': 'events.trait_company_industry', 'employee_count': 'events.trait_company_employee_count',
    'age': 'events.trait_age', 'gender': 'events.trait_gender', 'language': 'events.trait_language',
    'income_level': 'events.trait_income_level', 'department': 'events.trait_department',
    'user_roles': 'events.trait_roles', 'communication_preference': 'events.trait_preferred_channel'} -%}
{#- Survey answers (config enrichment.surveys): each question is a property of the survey event; an answer
    the config maps states its attribute's value, any other answer states nothing. -#}
{%- set enrichment = cfg.get('enrichment') or {} -%}
{%- set surveys = enrichment.get('surveys') or {} -%}
{%- set survey_values = {} -%}
{%- for question, spec in (surveys.get('questions') or {}).items() -%}
    {%- set answer = clean_text(json_text('events.properties', question)) -%}
    {%- set ns = namespace(expr='case ' ~ answer) -%}
    {%- for raw, mapped in spec['answers'].items() -%}
        {%- set ns.expr = ns.expr ~ " when '" ~ (raw | replace("'", "''")) ~ "' then '" ~ (mapped | replace("'", "''")) ~ "'" -%}
    {%- endfor -%}
    {%- set expr = ns.expr ~ ' end' -%}
    {%- set before = survey_values.get(spec['attribute']) -%}
    {%- do survey_values.update({spec['attribute']: ('coalesce(' ~ before ~ ', ' ~ expr ~ ')') if before else expr}) -%}
{%- endfor -%}
{%- set titles = enrichment.get('department_from_title') or {} -%}

with written as (
    select crm, record_id, field, lower(trim({{ json_scalar_text('value_json') }})) as written_value
    from ({{ source_or_empty('activation', 'written_values', {
        'crm': 'string', 'record_id': 'string', 'field': 'string', 'value_json': 'string',
    }) }}) as written_values
),

baselines as (
    select
        crm, record_id, modified_before, written_by,
        {{ dbt.dateadd('minute', 1, 'written_at') }} as written_until
    from ({{ source_or_empty('activation', 'sync_record_baselines', {
        'crm': 'string', 'record_id': 'string', 'modified_before': 'timestamp', 'written_at': 'timestamp',
        'written_by': 'string',
    }) }}) as record_baselines
),

crm_records as (
    select source_system, source_id, profile_id
    from {{ ref('int_identities_resolved') }}
    where source_system in ('salesforce', 'hubspot')
),
{% for source, spec in crm_sources.items() %}
{{ source }} as (
    select
        {{ stated_values(attributes, spec['values']) }}
        records.profile_id,
        '{{ source }}' as source,
        r.{{ spec.id }} as source_record_id,
        {{ observed.format('r.updated_at', spec.get('author', 'null')) }} as observed_at
    from {{ ref(spec.model) }} as r
    inner join crm_records as records
        on records.source_system = '{{ spec.crm }}' and records.source_id = r.{{ spec.id }}
    {{ spec.get('joins', '') }}
    left join baselines on baselines.crm = '{{ spec.crm }}' and baselines.record_id = r.{{ spec.id }}
),
{% endfor %}
event_traits as (
    select
        {{ stated_values(attributes, event_values) }}
        resolved.profile_id,
        'event_traits' as source,
        events.message_id as source_record_id,
        events.occurred_at as observed_at
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
),

survey as (
    select
        {{ stated_values(attributes, survey_values) }}
        resolved.profile_id,
        'survey' as source,
        events.message_id as source_record_id,
        events.occurred_at as observed_at
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
    where events.event_name = '{{ (surveys.get('event') or 'Survey Completed') | replace("'", "''") }}'
        {%- if not survey_values %} and 1 = 0{% endif %}
),

{#- the languages a browser or app sends: context.locale, and the Accept-Language header's preferred
    language (context.accept_language, kept by the collector) #}
{%- for source, column in {'context_locale': 'events.locale', 'accept_language': 'events.accept_language'}.items() %}
{{ source }} as (
    -- 'en-US' / 'en_US' -> 'en'
    select
        {{ stated_values(attributes, {'language': 'lower(' ~ dbt.split_part(dbt.split_part(column, "'-'", 1), "'_'", 1) ~ ')'}) }}
        resolved.profile_id,
        '{{ source }}' as source,
        events.message_id as source_record_id,
        events.occurred_at as observed_at
    from {{ ref('int_event_messages_resolved') }} as resolved
    inner join {{ ref('int_events_unioned') }} as events
        on events.message_id = resolved.message_id and events.channel = resolved.channel
    where {{ column }} is not null
),
{% endfor %}

records as (
    -- a record revloop created and nobody else changed since has no observed time: it states nothing
    {%- for source in crm_sources %}
    select * from {{ source }} where observed_at is not null
    union all
    {%- endfor %}
    select * from event_traits
    union all
    select * from survey
    union all
    select * from context_locale
    union all
    select * from accept_language
),

{#- Every source's statements, one row per record and attribute it states, in one pass over the records (a
    branch per attribute read them once each: 22 scans of a table that spilled to disk at 100,000 people). A
    CRM field still holding what revloop wrote states nothing (written_fields: the field each source reads
    the attribute from); value_maps apply to the attributes they name (mapped_attributes). -#}
{%- set mapped_attributes = [] -%}
{%- for attribute, mapping in value_maps.items() if attribute in attributes and mapping -%}
    {%- do mapped_attributes.append((attribute, mapping)) -%}
{%- endfor -%}
{%- set written_fields = [] -%}
{%- for source, spec in crm_sources.items() -%}
    {%- for attribute, field in spec.written.items() if attribute in attributes -%}
        {%- do written_fields.append((source, attribute, field)) -%}
    {%- endfor -%}
{%- endfor %}
attribute_names as (
    {%- for attribute in attributes %}
    select '{{ attribute }}' as attribute{{ " union all" if not loop.last }}
    {%- endfor %}
    {%- if not attributes %}
    select cast(null as {{ text }}) as attribute where 1 = 0
    {%- endif %}
),

record_attributes as (
    select
        records.profile_id,
        names.attribute,
        {% if attributes -%}
        trim(case names.attribute
            {%- for attribute in attributes %} when '{{ attribute }}' then records.{{ attribute }}{% endfor %}
        end)
        {%- else -%}
        cast(null as {{ text }})
        {%- endif %} as stated_value,
        records.source,
        records.source_record_id,
        records.observed_at
    from records
    cross join attribute_names as names
),

stated as (
    select
        record_attributes.profile_id,
        record_attributes.attribute,
        {% if mapped_attributes -%}
        case
            {%- for attribute, mapping in mapped_attributes %}
            when record_attributes.attribute = '{{ attribute }}' then case stated_value
                {%- for raw, mapped in mapping.items() %}
                when '{{ raw | replace("'", "''") }}' then '{{ mapped | replace("'", "''") }}'
                {%- endfor %}
                else stated_value
            end
            {%- endfor %}
            else stated_value
        end
        {%- else -%}
        stated_value
        {%- endif %} as attribute_value,
        record_attributes.source,
        record_attributes.source_record_id,
        record_attributes.observed_at
    from record_attributes
    {%- if written_fields %}
    left join written
        on written.record_id = record_attributes.source_record_id
        and written.crm = case record_attributes.source
            {%- for source, spec in crm_sources.items() %} when '{{ source }}' then '{{ spec.crm }}'{% endfor %} end
        and written.field = case
            {%- for source, attribute, field in written_fields %}
            when record_attributes.source = '{{ source }}' and record_attributes.attribute = '{{ attribute }}'
                then '{{ field }}'
            {%- endfor %}
        end
    {%- endif %}
    where nullif(stated_value, '') is not null
        {%- if written_fields %}
        and (written.written_value is null or written.written_value <> lower(stated_value))
        {%- endif %}
        {%- for attribute, values in placeholders.items() if attribute in attributes and values %}
        and not (record_attributes.attribute = '{{ attribute }}' and lower(stated_value) in (
            {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
        ))
        {%- endfor %}
),

title_departments as (
    -- the department a stated job title names, only where config enrichment.department_from_title lists it
    select
        profile_id,
        'department' as attribute,
        case lower(attribute_value)
            {%- for title, department in titles.items() %}
            when '{{ title | replace("'", "''") }}' then '{{ department | replace("'", "''") }}'
            {%- endfor %}
        end as attribute_value,
        'job_title' as source,
        source_record_id,
        observed_at
    from stated
    where attribute = 'job_title'
        and {% if titles %}lower(attribute_value) in (
            {%- for title in titles %}'{{ title | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
        ){% else %}1 = 0{% endif %}
),

statements as (
    select * from stated
    union all
    select * from title_departments
),

latest_statements as (
    -- a value repeated by many records of one source (every message's traits) counts once, at its latest
    select
        statements.*,
        row_number() over (
            partition by profile_id, attribute, source, attribute_value
            order by observed_at desc nulls last, source_record_id
        ) as repetition
    from statements
    -- a stage no mapping turned into a known lifecycle stage (e.g. a converted Lead's status) says nothing
    where attribute <> 'lifecycle_stage'
        or attribute_value in ({% for stage in known_stages %}'{{ stage }}'{{ ", " if not loop.last }}{% endfor %})
)

select profile_id, attribute, attribute_value, source, source_record_id, observed_at
from latest_statements
where repetition = 1
