{#- Incremental staging. A staging model keeps, per row, the dlt load (_dlt_load_id) that brought the raw
    version it shows; the newest of them in its table is its watermark. An incremental run rebuilds only the
    keys that raw rows loaded after the watermark name, from every raw row of those keys (so the newest
    version still wins across old and new loads); delete+insert on unique_key swaps them in, and the
    model's post-hook (forget_gone_records) removes keys whose record is now deleted, archived or merged
    away. A raw row without a load id (written by hand, not by dlt) counts as new on every run. -#}

{#- Whether the model being built carries load ids (it is incremental): staging macros add the column then. -#}
{% macro carries_load_ids() -%}
    {{ return(config.get('materialized') == 'incremental') }}
{%- endmacro %}

{#- True for a raw row loaded after this model's watermark (or without a load id). When the table lacks a
    column the model documents (a column was added since it was built), every row counts as new: the
    run rebuilds every key and on_schema_change adds the column, as a full refresh would. -#}
{% macro loaded_since_last_run(load_column='_dlt_load_id') -%}
    {%- set built = found_columns(this) if execute else [] -%}
    {%- set added = model.columns.keys() | map('lower') | reject('in', built) | list -%}
    ({{ load_column }} is null
     {%- if not added %}
     or {{ load_column }} > (select coalesce(max(_dlt_load_id), '') from {{ this }})
     {%- else %}
     or true
     {%- endif %})
{%- endmacro %}

{#- `columns` ({name: logical type}) of a raw table's rows loaded since this model's last run. -#}
{% macro rows_loaded_since_last_run(source_name, table_name, columns) -%}
    {%- set selected = dict(columns) -%}
    {%- do selected.update({'_dlt_load_id': 'string'}) -%}
    select {% for name in columns %}{{ adapter.quote(name) }}{{ ", " if not loop.last }}{% endfor %}
    from ({{ source_or_empty(source_name, table_name, selected) }}) as loaded
    where {{ loaded_since_last_run() }}
{%- endmacro %}

{#- The ids of a raw CRM table loaded since this model's last run; with `hubspot_references`
    ({column: HubSpot object type}), also the ids whose column names a HubSpot record merged away since
    then (their current HubSpot id changed). -#}
{% macro changed_record_ids(source_name, table_name, hubspot_references={}) -%}
    {{ rows_loaded_since_last_run(source_name, table_name, {'id': 'string'}) }}
    {%- for column, object_type in hubspot_references.items() %}
    union
    select id
    from ({{ source_or_empty(source_name, table_name, {'id': 'string', column: 'string'}) }}) as referring
    where {{ clean_text(column) }} in (
        select id from ({{ rows_loaded_since_last_run('raw_hubspot', hubspot_merges_table(object_type),
                                                      {'id': 'string'}) }}) as merged
    )
    {%- endfor %}
{%- endmacro %}

{#- Post-hook: delete the rows of this model whose key is among `candidates` (raw ids that may be gone:
    flagged deleted, listed as deleted or merged away) but not among `current` (those still current). -#}
{% macro forget_gone_records(candidates, current) -%}
    delete from {{ this }}
    where {{ config.get('unique_key') }} in (
        select {{ clean_text('id') }} from ({{ candidates }}) as candidates
        except
        select {{ clean_text('id') }} from ({{ current }}) as still_current
    )
{%- endmacro %}

{#- Post-hook of a Salesforce staging model over `table_name` (see salesforce_records). -#}
{% macro forget_gone_salesforce_records(table_name) -%}
    {%- set candidates -%}
        select id from ({{ source_or_empty('raw_salesforce', table_name,
                                           {'id': 'string', 'is_deleted': 'boolean'}) }}) as flagged
        where is_deleted
        union
        select id from ({{ source_or_empty('raw_salesforce', 'deleted_records', {'id': 'string'}) }}) as listed
    {%- endset -%}
    {{ forget_gone_records(candidates, salesforce_records(table_name, {}, only_ids=candidates)) }}
{%- endmacro %}

{#- Post-hook of a HubSpot staging model over `table_name` (see hubspot_records). -#}
{% macro forget_gone_hubspot_records(table_name) -%}
    {%- set candidates -%}
        select id from ({{ source_or_empty('raw_hubspot', table_name,
                                           {'id': 'string', 'archived': 'boolean'}) }}) as flagged
        where archived
        {%- if hubspot_merges_table(table_name) %}
        union
        select id from ({{ hubspot_merges(table_name) }}) as merged
        {%- endif %}
    {%- endset -%}
    {{ forget_gone_records(candidates, hubspot_records(table_name, {}, only_ids=candidates)) }}
{%- endmacro %}
