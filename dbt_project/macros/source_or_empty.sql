{#- Select `columns` ({name: logical type}, see revloop_type) from a raw source table, typed.

    A user may have only some sources (no CRM configured: no raw_salesforce schema; an object with no record:
    dlt creates no table, and a column that was always null: no column). A missing table gives an empty
    relation with the same typed columns, a missing column a typed null, so that staging builds anyway.
    source() is called whatever happens, so lineage and freshness still see the source. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set present = [] -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if found is not none -%}
            {%- for column in adapter.get_columns_in_relation(found) -%}
                {%- do present.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif %}
    select
    {%- for name, logical_type in columns.items() %}
        {% if name | lower in present -%}
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
