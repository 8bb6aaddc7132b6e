{#- Rows where a text column has leading or trailing whitespace. -#}
{% test is_trimmed(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} <> trim({{ column_name }})
{% endtest %}
