{#- Select `columns` ({name: logical type}, see revloop_type) from a raw source table, typed.

    A user may have only some sources (no CRM configured: no raw_salesforce schema; an object with no record:
    dlt creates no table, and a column that was always null: no column). A missing table gives an empty
    relation with the same typed columns, a missing column a typed null, so that staging builds anyway.
    With all_columns, every other column the table has (but dlt's bookkeeping, _dlt_*) follows as it is.
    source() is called whatever happens, so lineage and freshness still see the source. -#}
{% macro source_or_empty(source_name, table_name, columns, all_columns=false) -%}
    {%- set found = source_relation(source_name, table_name) -%}
    {%- set present = found_columns(found) -%}
    select
    {%- for name, logical_type in source_columns(present, columns, all_columns) %}
        {% if logical_type is none -%}
            {{ adapter.quote(name) }}
        {%- elif name in present -%}
            cast({{ adapter.quote(name) }} as {{ revloop_type(logical_type) }})
        {%- else -%}
            cast(null as {{ revloop_type(logical_type) }})
        {%- endif %} as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
    {% if found is not none -%}
    from {{ found }}
    {%- else -%}
    {#- No such table: no rows. #}
    where 1 = 0
    {%- endif %}
{%- endmacro %}

{#- The relation a source table names, or none while it does not exist. -#}
{% macro source_relation(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{#- The lower-case column names of a relation (none: no columns). -#}
{% macro found_columns(found) -%}
    {%- set names = [] -%}
    {%- for column in (adapter.get_columns_in_relation(found) if found is not none else []) -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- (name, logical type) of what source_or_empty selects: `columns`, then with all_columns the other columns
    `present` names (type none: as they are), but dlt's bookkeeping. Names are lower-case, as dlt writes them. -#}
{% macro source_columns(present, columns, all_columns=false) -%}
    {%- set selected = [] -%}
    {%- for name, logical_type in columns.items() -%}
        {%- do selected.append((name | lower, logical_type)) -%}
    {%- endfor -%}
    {%- if all_columns -%}
        {%- set declared = columns.keys() | map('lower') | list -%}
        {%- for name in present
                if name not in declared and not name.startswith('_dlt_') -%}
            {%- do selected.append((name, none)) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(selected) }}
{%- endmacro %}
