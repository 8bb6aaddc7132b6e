{#- The latest version of every record of a raw CRM table: one row per id, typed by source_or_empty.

    This is the one definition of "the current CRM record": staging and the sync's crm_* models use it.
    dlt merges on id, but a table can still hold several versions (append loads, replays), so the newest
    by version_column wins. deleted_flag, when given, drops records the CRM deleted or archived.
    all_columns: every column of the raw table, not only `columns` (see source_or_empty). only_ids: a query
    of raw ids; only those records are read (an incremental run's changed ones, see incremental.sql). -#}
{% macro latest_records(source_name, table_name, columns, version_column, deleted_flag=none, all_columns=false,
                        only_ids=none) -%}
    {%- set present = found_columns(source_relation(source_name, table_name)) -%}
    select
        {%- for name, _ in source_columns(present, columns, all_columns) %}
        {{ adapter.quote(name) }}{{ "," if not loop.last }}
        {%- endfor %}
    from (
        select
            *,
            row_number() over (partition by id order by {{ version_column }} desc nulls last) as version_rank
        from ({{ source_or_empty(source_name, table_name, columns, all_columns) }}) as source
        where {{ clean_text('id') }} is not null
        {%- if only_ids %} and id in ({{ only_ids }}){% endif %}
    ) as versions
    where version_rank = 1
    {%- if deleted_flag %} and not coalesce({{ deleted_flag }}, false){% endif %}
{%- endmacro %}

{#- A Salesforce object's current records: the system fields every object has, plus `columns`.
    Users are never deleted (only deactivated), so they have no IsDeleted. Records Get Deleted listed
    (raw_salesforce.deleted_records: hard deletes no query returns any more) are dropped unless changed
    after that deletion. An incremental model (see incremental.sql) also gets _dlt_load_id, and in an
    incremental run reads only the records changed since its last run, or `only_ids` when given;
    hubspot_references ({column: HubSpot object type}) name columns holding HubSpot ids, whose records change
    when HubSpot merges that id away. -#}
{% macro salesforce_records(table_name, columns, deletable=true, all_columns=false, only_ids=none,
                            hubspot_references={}) -%}
    {%- set system = {'id': 'string', 'system_modstamp': 'timestamp', 'created_date': 'timestamp',
                      'last_modified_date': 'timestamp'} -%}
    {%- if deletable %}{% do system.update({'is_deleted': 'boolean'}) %}{% endif -%}
    {%- if carries_load_ids() %}{% do system.update({'_dlt_load_id': 'string'}) %}{% endif -%}
    {%- do system.update(columns) -%}
    {%- if only_ids is none and is_incremental() -%}
        {%- set only_ids = changed_record_ids('raw_salesforce', table_name, hubspot_references) -%}
    {%- endif -%}
    {%- if deletable %}
    select * from (
    {%- endif %}
    {{ latest_records('raw_salesforce', table_name, system, 'system_modstamp',
                      'is_deleted' if deletable else none, all_columns, only_ids) }}
    {%- if deletable %}
    ) as current_records
    where not exists (
        select 1
        from ({{ source_or_empty('raw_salesforce', 'deleted_records',
                                 {'id': 'string', 'deleted_date': 'timestamp'}) }}) as deleted
        where deleted.id = current_records.id
            and deleted.deleted_date >= coalesce(current_records.system_modstamp, deleted.deleted_date)
    )
    {%- endif %}
{%- endmacro %}

{#- A HubSpot object's current records: id and timestamps plus `columns`; archived ones are dropped
    unless keep_archived (owners stay, records keep naming the owner they had). Records merged into another
    (raw_hubspot.<object>_merges, from the survivor's hs_merged_object_ids) are dropped: the survivor, a
    new record under a new id, carries them on. Incremental models: as salesforce_records. -#}
{% macro hubspot_records(table_name, columns, keep_archived=false, all_columns=false, only_ids=none) -%}
    {%- set system = {'id': 'string', 'archived': 'boolean', 'created_at': 'timestamp',
                      'updated_at': 'timestamp'} -%}
    {%- if carries_load_ids() %}{% do system.update({'_dlt_load_id': 'string'}) %}{% endif -%}
    {%- do system.update(columns) -%}
    {%- if only_ids is none and is_incremental() -%}
        {%- set only_ids = changed_record_ids('raw_hubspot', table_name) -%}
    {%- endif -%}
    {%- set merges = hubspot_merges_table(table_name) -%}
    {%- if merges %}
    select * from (
    {%- endif %}
    {{ latest_records('raw_hubspot', table_name, system, 'updated_at',
                      none if keep_archived else 'archived', all_columns, only_ids) }}
    {%- if merges %}
    ) as current_records
    where not exists (
        select 1 from ({{ hubspot_merges(table_name) }}) as merged where merged.id = current_records.id
    )
    {%- endif %}
{%- endmacro %}

{#- The raw table of ids merged away for a HubSpot object type (none for owners). -#}
{% macro hubspot_merges_table(object_type) -%}
    {{- {'contacts': 'contact_merges', 'companies': 'company_merges', 'deals': 'deal_merges'}.get(object_type, '') -}}
{%- endmacro %}

{#- Ids merged away in a HubSpot object type, each with the id of the record that carries it on. -#}
{% macro hubspot_merges(object_type) -%}
    {{ source_or_empty('raw_hubspot', hubspot_merges_table(object_type),
                       {'id': 'string', 'merged_into_id': 'string'}) }}
{%- endmacro %}

{#- A HubSpot id as it stands now: the record it was merged into, if it was merged away (ids stored
    elsewhere, such as Salesforce's HubSpot_Id__c or an association, may still name the old one). -#}
{% macro hubspot_current_id(expression, object_type) -%}
    coalesce(
        (select max(merged.merged_into_id) from ({{ hubspot_merges(object_type) }}) as merged
         where merged.id = {{ expression }}),
        {{ expression }}
    )
{%- endmacro %}
