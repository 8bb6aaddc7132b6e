{#- The text at a dotted key path ('a.b.c') of a JSON text column, null when absent; objects come back as JSON text.
    raw_events keeps JSON as text (VARCHAR in DuckDB, text or jsonb in PostgreSQL). -#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'revloop')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_path_text({{ column }}, {% for key in path.split('.') %}'{{ key }}'{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro postgres__json_text(column, path) -%}
    (cast({{ column }} as jsonb) #>> '{{ "{" ~ path.split(".") | join(",") ~ "}" }}')
{%- endmacro %}

{#- The text of a JSON scalar held in a text column ('"a b"' -> 'a b'), as activation.written_values keeps values. -#}
{% macro json_scalar_text(column) -%}
    {{ return(adapter.dispatch('json_scalar_text', 'revloop')(column)) }}
{%- endmacro %}

{% macro default__json_scalar_text(column) -%}
    json_extract_string({{ column }}, '$')
{%- endmacro %}

{% macro postgres__json_scalar_text(column) -%}
    (cast({{ column }} as jsonb) #>> '{}')
{%- endmacro %}
