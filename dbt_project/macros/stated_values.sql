{#- One column per attribute, each `values` expression (null where a source states none) as text, each
    followed by a comma: the value columns of a source's statements (int_profile_attributes_stated). -#}
{% macro stated_values(attributes, values) -%}
    {%- for attribute in attributes %}
        cast({{ values.get(attribute, 'null') }} as {{ dbt.type_string() }}) as {{ attribute }},
    {%- endfor %}
{%- endmacro %}
