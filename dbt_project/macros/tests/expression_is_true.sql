{#- Rows for which `expression` (SQL over the model's columns) is not true; narrow rows with config `where`.
    On a column, rows where that column is null are not checked. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if column_name is not none %} and {{ column_name }} is not null{% endif %}
{% endtest %}
