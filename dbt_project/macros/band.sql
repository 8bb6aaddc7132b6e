{#- The band of a number: the label of the highest lower bound not above it ({label: lower bound}, from
    config); null for a null number, one below every bound, or no bands. -#}
{% macro band(expr, bands) -%}
    {%- if bands -%}
    case
        {%- for label, bound in bands.items() | sort(attribute='1', reverse=true) %}
        when {{ expr }} >= {{ bound }} then '{{ label | replace("'", "''") }}'
        {%- endfor %}
    end
    {%- else -%}
    cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
