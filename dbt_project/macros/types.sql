{#- A timestamp with time zone: dbt.type_timestamp() is the zone-less type on PostgreSQL. -#}
{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch('type_timestamptz', 'revloop')()) }}
{%- endmacro %}

{% macro default__type_timestamptz() -%}
    timestamp with time zone
{%- endmacro %}

{% macro duckdb__type_timestamptz() -%}
    timestamptz
{%- endmacro %}

{#- The warehouse type of a logical column type used in staging column specs. -#}
{% macro revloop_type(logical_type) -%}
    {%- set types = {
        'string': dbt.type_string,
        'boolean': dbt.type_boolean,
        'bigint': dbt.type_bigint,
        'numeric': dbt.type_numeric,
        'float': dbt.type_float,
        'timestamp': type_timestamptz,
    } -%}
    {%- if logical_type == 'date' -%}
        date
    {%- elif logical_type in types -%}
        {{ types[logical_type]() }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("revloop_type: unknown type '" ~ logical_type ~ "' (one of date, " ~ types.keys() | join(', ') ~ ")") }}
    {%- endif -%}
{%- endmacro %}

{#- expr cast to a number type, or null when the text is not a number (user-sent JSON values). -#}
{% macro safe_number(expr, logical_type='numeric') -%}
    {{ return(adapter.dispatch('safe_number', 'revloop')(expr, logical_type)) }}
{%- endmacro %}

{% macro default__safe_number(expr, logical_type) -%}
    {#- Below the target type's limit (numeric is dbt.type_numeric(), numeric(28,6)), so no cast overflows. -#}
    {%- set limits = {'bigint': '9e18', 'numeric': '1e22', 'float': '1e300'} -%}
    {%- if logical_type not in limits -%}
        {{ exceptions.raise_compiler_error("safe_number: type '" ~ logical_type ~ "' is not one of " ~ limits.keys() | join(', ')) }}
    {%- endif -%}
    {#- Nested cases: PostgreSQL may evaluate the parts of an AND in any order, a CASE it keeps in order. -#}
    case when trim({{ expr }}) ~ '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]{1,4})?$' then
        case when abs(cast(trim({{ expr }}) as numeric)) < {{ limits[logical_type] }}
            then cast(cast(trim({{ expr }}) as numeric) as {{ revloop_type(logical_type) }}) end
    end
{%- endmacro %}

{% macro duckdb__safe_number(expr, logical_type) -%}
    try_cast(try_cast(trim({{ expr }}) as double) as {{ revloop_type(logical_type) }})
{%- endmacro %}

{#- expr cast to a timestamp with time zone, or null when the text is not an ISO 8601 timestamp. -#}
{% macro safe_timestamp(expr) -%}
    {{ return(adapter.dispatch('safe_timestamp', 'revloop')(expr)) }}
{%- endmacro %}

{% macro default__safe_timestamp(expr) -%}
    {#- ISO 8601 with plausible fields; a day past its month's end (Feb 30) still fails the cast. -#}
    case when trim({{ expr }}) ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?)?(Z|z|[-+][0-9]{2}(:?[0-9]{2})?)?$'
        then cast(trim({{ expr }}) as {{ type_timestamptz() }}) end
{%- endmacro %}

{% macro duckdb__safe_timestamp(expr) -%}
    try_cast(trim({{ expr }}) as timestamptz)
{%- endmacro %}
